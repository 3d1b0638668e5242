import ArgumentParser
import PetrelModel

@main
struct Petrel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "petrel",
        abstract: "Serverless model serving: compile, run and serve ONNX models.",
        version: petrelCompilerVersion,
        subcommands: [BenchSGEMM.self])
}
