/// Bumped whenever the compiler's output for the same model may change (a new pass, a changed op
/// attribute): it is part of every cache key and checked when an artifact loads, so stale artifacts
/// are recompiled instead of run. 0.2.0: LayerNorm, attention-mask and MatMul-operand folding.
/// 0.3.0: Conv+MaxPool fusion. 0.4.0: attention fusion. 0.5.0: residual Add+LayerNorm fusion.
public let petrelCompilerVersion = "0.5.0"
