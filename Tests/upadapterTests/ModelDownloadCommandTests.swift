import Foundation
import TestSupport
import Testing

/// `upadapter model download` as a user runs it: the built binary (beside the tests) against
/// `LoopbackHubServer`, with `HF_ENDPOINT` and `HF_TOKEN` in its environment.
@Suite("upadapter model download, run through the built binary")
struct ModelDownloadCommandTests {
    /// The token the command is given; no output may show it.
    static let token = "hf_TestSecretToken0123456789"

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("upadapter")
    }

    /// Runs `upadapter arguments` with `environment` added; returns status, stdout, stderr.
    static func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }

    @Test("HF_ENDPOINT and HF_TOKEN are honoured, the token is in no output, the folder is printed")
    func download() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("no upadapter binary at \(Self.binary.path); build with swift build --build-tests")
            return
        }
        let server = try LoopbackHubServer()
        defer { server.stop() }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-hub-command-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let token = Self.token
        let environment = ["HF_ENDPOINT": server.endpoint.absoluteString, "HF_TOKEN": token]

        let folder = root.appendingPathComponent("tiny-clip")
        let result = try Self.run(["model", "download", "test-org/tiny-clip", "--to", folder.path], environment: environment)
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == folder.path + "\n")
        #expect(result.errors.contains("model.safetensors") && result.errors.contains("model.path=\(folder.path)"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))
        #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer \(token)" })

        server.publishWrongDigest(for: "open_clip_model.safetensors")
        let failed = try Self.run(["model", "download", "test-org/tiny-open-clip", "--to", root.appendingPathComponent("open").path], environment: environment)
        #expect(failed.status == 1)
        #expect(failed.errors.contains("open_clip_model.safetensors") && failed.errors.contains("sha256"))

        let missing = try Self.run(["model", "download", "test-org/absent"], environment: environment)
        #expect(missing.status == 1 && missing.errors.contains("no such model 'test-org/absent'"))

        for text in [result.output, result.errors, failed.output, failed.errors, missing.output, missing.errors] {
            #expect(!text.contains(token), "the token was printed:\n\(text)")
        }
    }
}
