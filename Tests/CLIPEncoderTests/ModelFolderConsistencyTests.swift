import Compute
import FileIntegrity
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import CLIPEncoder

/// Issue 23, class 1: a model folder that contradicts itself is refused naming the file, key and
/// both values, or read the way transformers reads it. Class 4's check on the loader's files.
@Suite("Model folders that contradict themselves")
struct ModelFolderConsistencyTests {
    /// The fixture's `vision_config.image_size`, read from its `config.json`.
    static func fixtureImageSize() throws -> Int {
        try CLIPConfiguration(contentsOf: CLIPModelTests.modelDirectory.appendingPathComponent("config.json")).vision.imageSize
    }

    /// A model copy whose `preprocessor_config.json` is the fixture's with `edit` applied (or removed when `edit` is nil).
    static func folder(editing edit: ((inout [String: Any]) -> Void)?) throws -> URL {
        let folder = try LoadLimitsTests.modelCopy()
        let url = folder.appendingPathComponent("preprocessor_config.json")
        guard let edit else {
            try FileManager.default.removeItem(at: url)
            return folder
        }
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return folder
    }

    static func preprocessing(_ folder: URL, notices: inout [String]) throws -> PreprocessorConfiguration {
        let vision = try CLIPConfiguration(contentsOf: folder.appendingPathComponent("config.json")).vision
        var collected: [String] = []
        defer { notices = collected }
        return try ModelFolderConsistency.preprocessing(folder: folder, vision: vision) { collected.append($0) }
    }

    @Test("Without preprocessor_config.json the vision config's image_size is used, and a notice says so")
    func absentProcessorConfiguration() throws {
        let folder = try Self.folder(editing: nil)
        defer { try? FileManager.default.removeItem(at: folder) }
        let size = try Self.fixtureImageSize()
        var notices: [String] = []
        let configuration = try Self.preprocessing(folder, notices: &notices)
        #expect(configuration.cropSize == size && configuration.shortestEdge == size)
        #expect(notices.count == 1 && notices[0].contains("image_size \(size)") && notices[0].contains("preprocessor_config.json"))
        // The whole model loads, and its images have the tower's size.
        let model = try CLIPModel(directory: folder, backend: CPUBackend())
        let image = try RGBImage(width: 50, height: 40, pixels: (0..<(50 * 40 * 3)).map { UInt8($0 % 251) })
        let pixels = ImagePreprocessor(configuration: model.preprocessorConfiguration).preprocess(image)
        #expect(pixels.count == 3 * size * size)
        #expect(try model.encodeImages(pixels: pixels).count == model.embeddingSize)
    }

    @Test("A crop_size other than image_size is refused naming the file, the key and both values", arguments: [7, 56, 224])
    func cropDisagrees(crop: Int) throws {
        let size = try Self.fixtureImageSize()
        let folder = try Self.folder { $0["crop_size"] = ["height": crop, "width": crop] }
        defer { try? FileManager.default.removeItem(at: folder) }
        var notices: [String] = []
        #expect {
            _ = try Self.preprocessing(folder, notices: &notices)
        } throws: { error in
            guard case .invalidConfiguration(let path, let key, let reason)? = error as? CLIPEncoderError else { return false }
            return path.hasSuffix("preprocessor_config.json") && key == "crop_size" && reason.contains("\(crop)") && reason.contains("image_size is \(size)")
        }
    }

    @Test("Keys the file leaves out default to image_size, not to 224")
    func missingKeysDefaultToImageSize() throws {
        let size = try Self.fixtureImageSize()
        let folder = try Self.folder { json in
            json["crop_size"] = nil
            json["size"] = nil
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        var notices: [String] = []
        let configuration = try Self.preprocessing(folder, notices: &notices)
        #expect(configuration.cropSize == size && configuration.shortestEdge == size && notices.isEmpty)
    }

    @Test("A resize below the crop, RGB conversion off and an absurd rescale factor are refused by key")
    func refusedFlags() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("size", { $0["size"] = ["shortest_edge": 10] }),
            ("do_convert_rgb", { $0["do_convert_rgb"] = false }),
            ("rescale_factor", { $0["rescale_factor"] = -1 }),
            ("rescale_factor", { $0["rescale_factor"] = 3 }),
        ]
        for (key, edit) in cases {
            let folder = try Self.folder(editing: edit)
            defer { try? FileManager.default.removeItem(at: folder) }
            var notices: [String] = []
            #expect {
                _ = try Self.preprocessing(folder, notices: &notices)
            } throws: { error in
                guard case .invalidConfiguration(let path, let failedKey, _)? = error as? CLIPEncoderError else { return false }
                return path.hasSuffix("preprocessor_config.json") && failedKey == key
            }
        }
    }

    @Test("do_rescale and rescale_factor are applied as transformers applies them")
    func rescaleApplied() throws {
        // With do_normalize false, transformers' pixels are `byte · rescale_factor` (or the byte
        // itself with do_rescale false): 255 and 0.5 times the default `byte / 255`.
        let image = try RGBImage(width: 60, height: 45, pixels: (0..<(60 * 45 * 3)).map { UInt8(($0 * 7) % 256) })
        func pixels(_ edit: @escaping (inout [String: Any]) -> Void) throws -> [Float] {
            let folder = try Self.folder { json in
                json["do_normalize"] = false
                edit(&json)
            }
            defer { try? FileManager.default.removeItem(at: folder) }
            var notices: [String] = []
            return ImagePreprocessor(configuration: try Self.preprocessing(folder, notices: &notices)).preprocess(image)
        }
        let plain = try pixels { _ in }
        let unscaled = try pixels { $0["do_rescale"] = false }
        let halved = try pixels { $0["rescale_factor"] = 0.5 / 255 }
        #expect(plain.allSatisfy { (0...1).contains($0) } && plain.contains { $0 > 0.5 })
        for index in plain.indices {
            #expect(abs(unscaled[index] - 255 * plain[index]) <= 1e-3, "element \(index)")
            #expect(abs(halved[index] - 0.5 * plain[index]) <= 1e-6, "element \(index)")
        }
    }

    @Test("Tensors the configuration does not use are refused naming them")
    func unusedTensors() throws {
        let folder = try LoadLimitsTests.modelCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configURL = folder.appendingPathComponent("config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        var text = try #require(json["text_config"] as? [String: Any])
        text["num_hidden_layers"] = 1
        json["text_config"] = text
        try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        #expect {
            _ = try CLIPModel(directory: folder, backend: CPUBackend())
        } throws: { error in
            guard case .unusedTensors(let path, let tensors, let configurationFile)? = error as? CLIPEncoderError else { return false }
            return path.hasSuffix("model.safetensors") && configurationFile == "config.json" && !tensors.isEmpty
                && tensors.allSatisfy { $0.hasPrefix("text_model.encoder.layers.1.") }
                && "\(error)".contains("text_model.encoder.layers.1.")
        }
    }

    @Test("A vocabulary that is not a bijection onto 0..<count is refused")
    func vocabularyBijection() throws {
        let good = ["a": Int32(0), "b": 1, "c": 2]
        try BytePairVocabulary.requireBijection(good, path: "vocab.json")
        let bad: [(tokens: [String: Int32], words: [String])] = [
            (["a": 0, "b": 1, "c": 1], ["\"b\"", "\"c\"", "share the id 1"]),
            (["a": 0, "b": -3, "c": 1], ["\"b\"", "negative id -3"]),
            (["a": 0, "b": 1, "c": 5], ["no token has the id 2"]),
        ]
        for (tokens, words) in bad {
            #expect {
                try BytePairVocabulary.requireBijection(tokens, path: "vocab.json")
            } throws: { error in
                let text = "\(error)"
                return text.contains("vocab.json") && words.allSatisfy(text.contains)
            }
        }
    }

    @Test("The pixel-count error names the processor configuration and its keys")
    func pixelErrorNamesProcessorConfiguration() throws {
        let model = try CLIPModel(directory: CLIPModelTests.modelDirectory, backend: CPUBackend())
        #expect {
            _ = try model.encodeImages(pixels: [Float](repeating: 0, count: 3 * 224 * 224))
        } throws: { error in
            let text = "\(error)"
            return text.contains("preprocessor_config.json") && text.contains("crop_size") && text.contains("shortest_edge")
        }
    }

    @Test("A FIFO or a device is refused by kind before it is opened", arguments: ["FIFO", "character device", "folder"])
    func notRegularFiles(kind: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path: String
        switch kind {
        case "FIFO":
            path = folder.appendingPathComponent("model.safetensors").path
            #expect(mkfifo(path, 0o644) == 0)
        case "character device": path = "/dev/zero"
        default: path = folder.path
        }
        #expect(throws: RegularFile.Refusal(path: path, kind: kind)) { try RegularFile.require(path: path) }
        #expect(throws: RegularFile.Refusal(path: path, kind: kind)) { _ = try SafeTensorsFile(url: URL(fileURLWithPath: path)) }
        #expect(throws: RegularFile.Refusal(path: path, kind: kind)) { _ = try ImageDecoder.decode(file: URL(fileURLWithPath: path)) }
        // A symbolic link to a regular file is a regular file.
        let target = folder.appendingPathComponent("target.json"), link = folder.appendingPathComponent("link.json")
        try Data("{}".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        try RegularFile.require(link)
    }
}
