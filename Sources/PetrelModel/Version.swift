/// Bumped whenever the compiler's output for the same model may change: part of every cache key.
public let petrelCompilerVersion = "0.1.0"
