import CLIPEncoder
import Compute
import Foundation
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments

/// Seeded random-mutation fuzzing of the parsers that read user files, with a fixed budget of
/// cases each (the same cases on every run): the safetensors header, the PNG and JPEG decoding
/// wrappers, the tokenizer and the YAML configuration reader. Each case must return or throw
/// one of the project's typed errors; a crash or trap fails the whole test run.
@Suite("Fuzz: seeded mutations of safetensors, images, tokenizer input and YAML")
struct FuzzTests {
    /// Cases per target (the CI budget).
    static let budget = 300

    /// `bytes` with 1 to 8 random changes: a byte replaced, flipped, inserted or deleted, or the
    /// tail cut off.
    static func mutate(_ bytes: [UInt8], using generator: inout SeededGenerator, protectPrefix: Int = 0) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            guard result.count > protectPrefix else { break }
            let position = Int.random(in: protectPrefix..<result.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: result[position] = UInt8.random(in: 0...255, using: &generator)
            case 1: result[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
            case 2: result.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            case 3: result.remove(at: position)
            case 4: result[position] = [0x00, 0xff, 0x7f, 0x80, 0x22, 0x5b, 0x7b, 0x30][Int.random(in: 0..<8, using: &generator)]
            default: result.removeSubrange(position...)
            }
        }
        return result
    }

    @Test("safetensors: mutated headers open or throw CLIPEncoderError; every tensor of an opened file reads")
    func safetensors() throws {
        let folder = try TemporaryFolder()
        let seed = folder.url.appendingPathComponent("seed.safetensors")
        try SafeTensorsWriter.write(
            [("a", [2, 3], [1, 2, 3, 4, 5, 6]), ("b", [4], [0.5, -1, 2, 8]), ("c", [], [3])],
            metadata: ["format": "pt", "note": "x"], storage: .float16, to: seed)
        let original = [UInt8](try Data(contentsOf: seed))
        let headerEnd = 8 + Int(original[0]) + Int(original[1]) << 8
        var generator = SeededGenerator(seed: 12)
        var opened = 0
        for index in 0..<Self.budget {
            // Mostly the header (and its length), sometimes anywhere.
            var bytes = original
            if index % 4 == 0 {
                bytes = Self.mutate(original, using: &generator)
            } else {
                let header = Self.mutate(Array(original[0..<headerEnd]), using: &generator)
                bytes = header + original[headerEnd...]
            }
            let url = folder.url.appendingPathComponent("case-\(index).safetensors")
            try Data(bytes).write(to: url)
            do {
                let file = try SafeTensorsFile(url: url)
                opened += 1
                for name in file.names where (try? file.info(name))?.dtype.isReadableAsFloat == true {
                    let values = try file.floats(name)
                    #expect(values.count == (try file.info(name)).count)
                }
            } catch is CLIPEncoderError {
            }
            try FileManager.default.removeItem(at: url)
        }
        #expect(opened > 0, "no mutated file opened: the mutations never kept a valid header")
        #expect(opened < Self.budget, "every mutated file opened: the mutations never broke a header")
    }

    @Test("PNG and JPEG: mutated files decode or throw CLIPEncoderError", arguments: ["rgb.png", "palette.png", "interlaced.png", "rgb.jpg", "progressive.jpg", "grey.jpg"])
    func images(name: String) throws {
        let original = [UInt8](try Data(contentsOf: FeatureCacheFixtures.imageFolder.appendingPathComponent(name)))
        var generator = SeededGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        var decoded = 0, refused = 0
        for _ in 0..<(Self.budget / 3) {
            let bytes = Self.mutate(original, using: &generator, protectPrefix: 2)
            do {
                let image = try ImageDecoder.decode(data: Data(bytes), path: name, maximumPixelCount: 4_000_000)
                #expect(image.width > 0 && image.height > 0)
                decoded += 1
            } catch is CLIPEncoderError {
                refused += 1
            }
        }
        #expect(decoded + refused == Self.budget / 3)
        #expect(refused > 0, "no mutation of \(name) was refused")
    }

    @Test("Tokenizer: random text always gives 77 ids in the vocabulary, or a typed error")
    func tokenizer() throws {
        let tokenizer = try CLIPTokenizer(openAIMergesFile: FeatureCacheFixtures.modelFolder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz"))
        var generator = SeededGenerator(seed: 77)
        let pieces = ["&amp;", "&lt;b&gt;", "&#x1F600;", "&#99999999;", "'s", "don't", "\u{0}", "\u{FFFD}", "é", "ﬁ", "🙂", "\t", "\n", "  ",
                      "<|endoftext|>", "<|startoftext|>", "a", "photo", "1234567890", "{}", "\\", "\"", "ǅ", "\u{200B}", "İ"]
        for index in 0..<Self.budget {
            var text = ""
            for _ in 0..<Int.random(in: 0...60, using: &generator) {
                if Bool.random(using: &generator) {
                    text += pieces[Int.random(in: 0..<pieces.count, using: &generator)]
                } else if let scalar = Unicode.Scalar(UInt32.random(in: 0...0x2FFFF, using: &generator)) {
                    text.unicodeScalars.append(scalar)
                }
            }
            let truncate = index % 2 == 0
            do {
                let rows = try tokenizer.tokenize([text], truncate: truncate)
                #expect(rows.count == 1)
                #expect(rows[0].count == 77)
                #expect(rows[0].allSatisfy { $0 >= 0 && $0 < 49408 }, "\(text.debugDescription)")
            } catch let error as TokenizerError {
                #expect(!truncate, "truncating tokenization failed on \(text.debugDescription): \(error)")
            }
        }
    }

    @Test("YAML configurations: mutated texts load or throw ExperimentsError")
    func yaml() throws {
        let original = Array("""
            model: {path: ~/models/clip}
            dataset:
              kind: folder
              name: pets
              root: data/pets
              transform: {name: pixelate, parameters: {block: 8}}
            prompts:
              templates: ["a photo of a {}.", 'a {}']
            selection: {min_confidence: 0.5}
            adapter:
              alpha: 1.17
            model_selection: {criteria: [information_maximization], alpha_grid: [1, 2], beta_grid: [1, 5.5]}
            self_training: {rounds: 2, pool_share: 0.5}
            training: {epochs: 20, learning_rate: 1e-3}
            baselines: {supervised_shots: [1, 2, 4]}

            """.utf8)
        let alphabet = Array(":-[]{}&*!|>'\"#,?%@`\n  0.e.nan.inf~".utf8)
        var generator = SeededGenerator(seed: 31)
        let folder = URL(fileURLWithPath: "/nonexistent-configs")
        // The unmutated text is a valid configuration.
        _ = try ExperimentConfiguration(yaml: String(decoding: original, as: UTF8.self), baseDirectory: folder, sourceName: "fuzz.yaml")
        var loaded = 0, refused = 0
        for _ in 0..<Self.budget {
            var bytes = Self.mutate(original, using: &generator)
            // Also splice in YAML's own punctuation, where most parser paths start.
            for _ in 0..<Int.random(in: 0...4, using: &generator) where !bytes.isEmpty {
                bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)], at: Int.random(in: 0..<bytes.count, using: &generator))
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try ExperimentConfiguration(yaml: text, baseDirectory: folder, sourceName: "fuzz.yaml")
                loaded += 1
            } catch let error as ExperimentsError {
                #expect("\(error)".contains("fuzz.yaml") || "\(error)".contains("--set") || "\(error)".contains("/nonexistent-configs"), "\(error)")
                refused += 1
            }
        }
        #expect(loaded + refused == Self.budget)
        #expect(refused > 0, "no mutation was refused")
    }
}
