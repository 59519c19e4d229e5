import CLIPEncoder
import Foundation
import TestSupport
import Testing

@testable import Experiments

/// Runs the built `upadapter` on every case of `BadInputCorpus` and checks what a user sees:
/// an ordinary exit (no signal), within a bound, with the expected code, a message naming the
/// input, and no raw error dump.
@Suite("Bad-input corpus, run through the built upadapter", .serialized)
struct BadInputCorpusTests {
    /// Generous bound per case: a hang (such as the YAML alias bomb before #12) is killed here.
    static let bound: TimeInterval = 120

    /// The binary under test: `UPADAPTER_CORPUS_BINARY` when set (to measure another build on
    /// the same corpus), else the one built beside the tests.
    static var binary: URL {
        ProcessInfo.processInfo.environment["UPADAPTER_CORPUS_BINARY"].map { URL(fileURLWithPath: $0) } ?? PipelineIntegrationTests.binary
    }

    /// Runs `upadapter arguments`, killing it after `bound` seconds.
    static func run(_ arguments: [String], bound: TimeInterval = bound) throws -> (status: Int32, signalled: Bool, timedOut: Bool, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-corpus-output-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let timedOut = finished.wait(timeout: .now() + bound) == .timedOut
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try handle.close()
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, timedOut, text)
    }

    @Test("Every bad input is refused with a readable message naming it")
    func corpus() throws {
        let root = try TemporaryFolder.create("corpus")
        defer { try? FileManager.default.removeItem(at: root) }
        let cases = try BadInputCorpus.write(into: root)
        #expect(cases.count >= 49)
        try Self.check(cases)
    }

    @Test("Reliability II (issue 23): self-contradicting model folders, cut prompts, conflicting keys, non-regular files, secrets, altered adapters, sweep names")
    func corpusII() throws {
        let root = try TemporaryFolder.create("corpus-ii")
        defer { try? FileManager.default.removeItem(at: root) }
        let cases = try BadInputCorpus.writeReliabilityII(into: root)
        #expect(cases.count >= 30)
        try Self.check(cases)
    }

    /// Runs every case and checks its outcome.
    static func check(_ cases: [BadInputCorpus.Case]) throws {
        for item in cases {
            let result = try Self.run(item.arguments)
            #expect(!result.timedOut, "\(item): still running after \(Self.bound) s")
            #expect(!result.signalled, "\(item): killed by signal \(result.status)\n\(result.output)")
            #expect(result.status == item.expectedStatus, "\(item): exit \(result.status), expected \(item.expectedStatus)\n\(result.output)")
            for word in item.mustMention {
                #expect(result.output.contains(word), "\(item): the message does not mention '\(word)'\n\(result.output)")
            }
            for word in item.mustNotMention {
                #expect(!result.output.contains(word), "\(item): the output holds '\(word)'\n\(result.output)")
            }
            for dump in ["NSCocoaErrorDomain", "DecodingError", "EncodingError", "Fatal error", "nan%", "Error Domain="] {
                #expect(!result.output.contains(dump), "\(item): raw '\(dump)' in the output\n\(result.output)")
            }
        }
    }
}
