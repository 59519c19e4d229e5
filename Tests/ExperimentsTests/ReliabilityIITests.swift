import CLIPEncoder
import Compute
import FileIntegrity
import Foundation
import Support
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import Datasets
@testable import Experiments
@testable import Reports

/// Issue 23: unit tests of the guards the corpus (`BadInputCorpusII`) meets through the binary.
@Suite("Reliability II guards")
struct ReliabilityIITests {
    static let model = Fixtures.model

    static func tokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(openAIMergesFile: model.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz").resolvingSymlinksInPath())
    }

    // MARK: 2. Prompts

    @Test("A prompt longer than the context is refused naming class, template and token count")
    func promptTooLong() throws {
        let tokenizer = try Self.tokenizer()
        let template = "{} " + Array(repeating: "stone", count: 20).joined(separator: " ")
        // The filled template's tokens and the start and end tokens.
        let expectedCount = tokenizer.encode(template.replacingOccurrences(of: "{}", with: "tiger")).count + 2
        #expect(expectedCount > 16)
        #expect(throws: ExperimentsError.promptTooLong(className: "tiger", template: template, tokenCount: expectedCount, contextLength: 16)) {
            _ = try ClassPrompts(classNames: ["tiger", "lion"], templates: ["a {}.", template], tokenizer: tokenizer, contextLength: 16, truncate: false)
        }
    }

    @Test("With truncate, each cut prompt is warned about and rows have the context's length")
    func truncationWarned() throws {
        let tokenizer = try Self.tokenizer()
        let prompts = try ClassPrompts(classNames: ["tiger", "lion"], templates: ["a {} " + String(repeating: "stone ", count: 30)],
                                       tokenizer: tokenizer, contextLength: 16, truncate: true)
        #expect(prompts.warnings.count == 2)
        #expect(prompts.warnings.allSatisfy { $0.contains("cut to the context length 16") })
        #expect(prompts.tokens.count == 2 && prompts.tokens.allSatisfy { $0.count == 16 })
    }

    @Test("Empty, repeated or indistinguishable class names are refused naming them")
    func classNames() throws {
        let tokenizer = try Self.tokenizer()
        func refusal(_ names: [String], templates: [String] = ["a photo of a {}."], truncate: Bool = false, context: Int = 77) -> String {
            do {
                _ = try ClassPrompts(classNames: names, templates: templates, tokenizer: tokenizer, contextLength: context, truncate: truncate)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(["cat", "dog"]) == "accepted")
        #expect(refusal(["cat", "", "dog"]).contains("class 1 has an empty name"))
        #expect(refusal(["cat", " \t", "dog"]).contains("class 1 has an empty name"))
        #expect(refusal(["cat", "dog", "cat"]).contains("classes 0 and 2 are both named 'cat'"))
        #expect(refusal(["cat", "dog", "cat "]).contains("classes 0 and 2"))
        // The tokenizer lowercases and drops nothing else: "Cat" and "cat" give one embedding.
        #expect(refusal(["Cat", "cat"]).contains("same prompt tokens"))
        // Names that differ only after the cut.
        let long = String(repeating: "stone ", count: 30)
        #expect(refusal(["\(long)cat", "\(long)dog"], truncate: true, context: 16).contains("same prompt tokens"))
    }

    // MARK: 3. Exclusive keys within one file

    @Test("Two keys of an exclusive pair in one file are an error naming both, not a silent drop")
    func exclusivePairs() throws {
        let folder = try TemporaryFolder.create("exclusive")
        defer { try? FileManager.default.removeItem(at: folder) }
        let head = "model: {path: /m}\ndataset: {kind: folder, name: x, root: /d}\n"
        for (body, key) in [
            ("prompts: {template: \"a {}.\", templates: [\"b {}.\"]}\n", "prompts.templates"),
            ("prompts: {template: \"a {}.\"}\nselection: {min_confidence: 0.3, top_k: 4}\n", "selection.top_k"),
        ] {
            #expect {
                _ = try ExperimentConfiguration(yaml: head + body, baseDirectory: folder, sourceName: "pair.yaml")
            } throws: { error in
                guard case .invalidValue(let keyPath, _, _, let reason)? = error as? ExperimentsError else { return false }
                return keyPath == key && reason.contains("exclude each other")
            }
        }
        // A child may still replace its base's choice, and a null does not count.
        try Data((head + "prompts: {template: \"a {}.\"}\nselection: {top_k: 4}\n").utf8).write(to: folder.appendingPathComponent("base.yaml"))
        let child = try ExperimentConfiguration(yaml: "base: base.yaml\nselection: {min_confidence: 0.3}\n", baseDirectory: folder)
        #expect(child.selection.minConfidence == 0.3)
        let reset = try ExperimentConfiguration(yaml: head + "prompts: {template: \"a {}.\"}\nselection: {top_k: null, min_confidence: 0.3}\n", baseDirectory: folder)
        // The resolved configuration loads back equal (it writes the unused key as null).
        let reloaded = try ExperimentConfiguration(yaml: reset.resolvedYAML(), baseDirectory: folder)
        #expect(reloaded == reset)
    }

    @Test("A transform's unknown name, unknown parameter or out-of-range value fails when the configuration is read")
    func transformsCheckedWhenRead() throws {
        let folder = try TemporaryFolder.create("transform")
        defer { try? FileManager.default.removeItem(at: folder) }
        let head = "model: {path: /m}\nprompts: {template: \"a {}.\"}\n"
        for (transform, word) in [("{name: swirl}", "swirl"), ("{name: pixelate, parameters: {radius: 2}}", "radius"),
                                  ("{name: blur_noise, parameters: {sigma: 1000}}", "sigma")] {
            #expect {
                _ = try ExperimentConfiguration(yaml: head + "dataset: {kind: folder, name: x, root: /d, transform: \(transform)}\n", baseDirectory: folder)
            } throws: { error in
                guard case .invalidValue(let keyPath, _, _, let reason)? = error as? ExperimentsError else { return false }
                return keyPath == "dataset.transform.name" && reason.contains(word)
            }
        }
    }

    // MARK: 6. Adapters and printed names

    static func adapterTensors() -> [(name: String, shape: [Int], values: [Float])] {
        [("text_classifier", [2, 4], [1, 0, 0, 0, 0, 1, 0, 0]), ("keys", [2, 4], [1, 0, 0, 0, 0, 1, 0, 0]),
         ("key_classes", [2], [0, 1]), ("alpha", [1], [1]), ("beta", [1], [2]), ("logit_scale", [1], [100])]
    }

    @Test("An adapter's checksum is verified; altered values or names are refused; older files load unverified")
    func adapterChecksum() throws {
        let folder = try TemporaryFolder.create("adapter-checksum")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tensors = Self.adapterTensors()
        let names = "[\"cat\",\"dog\"]"
        let checksum = AdapterFile.checksum(tensors.map(\.values), classNamesText: names)
        let good = folder.appendingPathComponent("good.safetensors")
        try SafeTensorsWriter.write(tensors, metadata: ["class_names": names, "tensors_sha256": checksum], to: good)
        #expect(try AdapterFile.read(good).checksumVerified)
        var altered = tensors
        altered[0].values[3] = 1e-30  // one element from 0 to a tiny number
        let alteredURL = folder.appendingPathComponent("altered.safetensors")
        try SafeTensorsWriter.write(altered, metadata: ["class_names": names, "tensors_sha256": checksum], to: alteredURL)
        let renamedURL = folder.appendingPathComponent("renamed.safetensors")
        try SafeTensorsWriter.write(tensors, metadata: ["class_names": "[\"cat\",\"cow\"]", "tensors_sha256": checksum], to: renamedURL)
        for url in [alteredURL, renamedURL] {
            #expect {
                _ = try AdapterFile.read(url)
            } throws: { error in
                "\(error)".contains(url.path) && "\(error)".contains("tensors_sha256")
            }
        }
        let old = folder.appendingPathComponent("old.safetensors")
        try SafeTensorsWriter.write(tensors, metadata: ["class_names": names], to: old)
        #expect(try !AdapterFile.read(old).checksumVerified)
    }

    @Test("Control characters in names are escaped for the terminal; plain names are unchanged")
    func terminalEscaping() {
        #expect(TerminalText.escaped("golden retriever") == "golden retriever")
        #expect(TerminalText.escaped("café ☕") == "café ☕")
        #expect(TerminalText.escaped("\u{1B}[2Jred") == "\\x1B[2Jred")
        #expect(TerminalText.escaped("a\nb\tc\r") == "a\\nb\\tc\\r")
        #expect(TerminalText.escaped("\u{9B}31m\u{7F}") == "\\x9B31m\\x7F")
        #expect(TerminalText.escaped("abc\u{202E}fed") == "abc\\u{202E}fed")
        // A backslash is escaped too, so an escaped name never prints like another name.
        #expect(TerminalText.escaped("\\x1B") == "\\\\x1B")
        #expect(TerminalText.escaped("\\x1B") != TerminalText.escaped("\u{1B}"))
    }

    // MARK: 7. Sweep names

    @Test("A sweep name or variant name that is not one path component is refused")
    func sweepNames() throws {
        let folder = try TemporaryFolder.create("sweep-names")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("cell.yaml")
        try Data("model: {path: /m}\n".utf8).write(to: config)
        let bad = [
            "name: ../../outside\n", "name: ..\n", "name: .\n", "name: \"a/b\"\n", "name: \"a\\\\b\"\n", "name: \"\"\n",
            "name: \"x\\u001b[2J\"\n", "name: \(String(repeating: "n", count: 201))\n",
            "variants: {'..': []}\n", "variants: {'a/b': []}\n", "variants: {'a__b': []}\n",
        ]
        for text in bad {
            let spec = folder.appendingPathComponent("spec.yaml")
            try Data((text + "configs: [\(config.path)]\n").utf8).write(to: spec)
            #expect(throws: ExperimentsError.self, "\(text)") { _ = try SweepSpecification.load(from: spec) }
        }
        let spec = folder.appendingPathComponent("fine.yaml")
        try Data("name: study-1.b\nconfigs: [\(config.path)]\nvariants: {k8: []}\n".utf8).write(to: spec)
        let loaded = try SweepSpecification.load(from: spec)
        #expect(loaded.output.path.hasSuffix("/sweeps/study-1.b"))
    }

    // MARK: 4. Readers of the Experiments module

    @Test("Dataset files, configurations and metrics that are FIFOs or devices are refused by kind")
    func experimentReaders() throws {
        let folder = try TemporaryFolder.create("kinds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifoPath = folder.appendingPathComponent("names.txt").path
        #expect(mkfifo(fifoPath, 0o644) == 0)
        let fifo = URL(fileURLWithPath: fifoPath)
        let refusal = RegularFile.Refusal(path: fifoPath, kind: "FIFO")
        #expect(throws: refusal) { _ = try FileSystem.text(of: fifo, dataset: "x") }
        #expect(throws: refusal) { _ = try IDXFile(contentsOf: fifo, expectedMagic: 2051, dataset: "x") }
        #expect(throws: refusal) { _ = try ExperimentConfiguration.load(from: fifo) }
        #expect(throws: refusal) { _ = try SweepSpecification.load(from: fifo) }
        #expect(throws: refusal) { _ = try RunReport.load(metricsFile: fifo) }
        #expect(throws: refusal) { _ = try AdapterFile.read(fifo) }
        #expect(throws: RegularFile.Refusal(path: "/dev/zero", kind: "character device")) {
            _ = try ExperimentConfiguration.load(from: URL(fileURLWithPath: "/dev/zero"))
        }
    }
}
