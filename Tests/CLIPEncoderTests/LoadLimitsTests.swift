import Compute
import Foundation
import Support
import Testing

@testable import CLIPEncoder

/// Issue #12: checkpoints that promise more than they hold, or hold NaN, infinities or an
/// absurd logit scale, are refused at load naming the key or tensor.
@Suite struct LoadLimitsTests {
    /// A copy of the fixture model in a fresh folder, removed by the caller.
    static func modelCopy() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"] {
            try FileManager.default.copyItem(at: CLIPModelTests.modelDirectory.appendingPathComponent(name).resolvingSymlinksInPath(),
                                             to: folder.appendingPathComponent(name))
        }
        return folder
    }

    /// Overwrites the first element of F16 tensor `tensor` in `folder/model.safetensors` with `bits`.
    static func patchFirstHalf(_ folder: URL, tensor: String, bits: UInt16) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        let file = try SafeTensorsFile(url: url)
        let info = try file.info(tensor)
        #expect(info.dtype == .float16)
        var bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let offset = 8 + headerLength + info.dataOffsets.lowerBound
        bytes[offset] = UInt8(bits & 0xff)
        bytes[offset + 1] = UInt8(bits >> 8)
        try Data(bytes).write(to: url)
    }

    static func loadError(_ folder: URL) -> String {
        do {
            _ = try CLIPModel(directory: folder, backend: CPUBackend())
        } catch {
            return "\(error)"
        }
        Issue.record("the model should have been refused")
        return ""
    }

    @Test("num_hidden_layers beyond the layers in the weights is refused naming the key", arguments: ["vision_config", "text_config"])
    func hugeLayerCount(section: String) throws {
        let folder = try Self.modelCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configURL = folder.appendingPathComponent("config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        var tower = try #require(json[section] as? [String: Any])
        tower["num_hidden_layers"] = 1_000_000_000
        json[section] = tower
        try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        let text = Self.loadError(folder)
        #expect(text.contains("\(section).num_hidden_layers"), "\(text)")
        #expect(text.contains("1000000000 layers"), "\(text)")
        #expect(text.contains("holds 2"), "\(text)")
    }

    @Test("A NaN or infinite weight is refused naming the tensor", arguments: [UInt16(0x7e00), UInt16(0x7c00)])
    func nonFiniteWeight(bits: UInt16) throws {
        let folder = try Self.modelCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.patchFirstHalf(folder, tensor: "vision_model.post_layernorm.weight", bits: bits)
        let text = Self.loadError(folder)
        #expect(text.contains("'vision_model.post_layernorm.weight'"), "\(text)")
        #expect(text.contains("element 0"), "\(text)")
        #expect(text.contains(folder.appendingPathComponent("model.safetensors").path), "\(text)")
    }

    @Test("logit_scale NaN or 1000 (exp overflows) is refused", arguments: [UInt16(0x7e00), UInt16(0x63d0)])
    func badLogitScale(bits: UInt16) throws {
        let folder = try Self.modelCopy()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.patchFirstHalf(folder, tensor: "logit_scale", bits: bits)
        let text = Self.loadError(folder)
        #expect(text.contains("'logit_scale'"), "\(text)")
        #expect(text.contains("outside 1.0...1000.0"), "\(text)")
    }

    @Test("The fixture's own logit scale loads")
    func goodLogitScale() throws {
        let model = try CLIPModel(directory: CLIPModelTests.modelDirectory, backend: CPUBackend())
        let scale = try #require(model.learnedLogitScale)
        #expect(CLIPModel.logitScaleRange.contains(scale))
    }

    @Test("A merges.txt with no merges (empty, or the header only) is refused", arguments: ["", "#version: 0.2\n"])
    func emptyMerges(merges: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-merges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{\"a</w>\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}".utf8).write(to: folder.appendingPathComponent("vocab.json"))
        try Data(merges.utf8).write(to: folder.appendingPathComponent("merges.txt"))
        #expect(throws: TokenizerError.tooFewMerges(path: folder.appendingPathComponent("merges.txt").path, expected: 1, actual: 0)) {
            _ = try CLIPTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.json"), mergesFile: folder.appendingPathComponent("merges.txt"))
        }
    }

    @Test("A gzip stream inflating past its ceiling stops there")
    func gzipCeiling() throws {
        let data = try Data(contentsOf: CLIPModelTests.modelDirectory.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz"))
        #expect(throws: GzipError.tooLarge(limit: 1000)) { _ = try Gzip.decompress(data, maximumBytes: 1000) }
        #expect(try Gzip.decompress(data).count > 1000)
    }
}
