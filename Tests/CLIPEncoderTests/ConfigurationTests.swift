import CLIPEncoder
import Compute
import Foundation
import Testing

// The configuration files and configurations_expected.json (how transformers' CLIPConfig and
// CLIPImageProcessor resolve each file, defaults included) come from
// scripts/make_image_fixtures.py.

private let configurationFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("safetensors")

private func configurationFile(_ name: String) -> URL {
    configurationFolder.appendingPathComponent(name)
}

private struct ExpectedVision: Decodable {
    let hidden_size, intermediate_size, num_hidden_layers, num_attention_heads: Int
    let image_size, patch_size, num_channels: Int
    let layer_norm_eps: Double
    let hidden_act: String
}

private struct ExpectedText: Decodable {
    let vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads: Int
    let max_position_embeddings: Int
    let layer_norm_eps: Double
    let hidden_act: String
}

private struct ExpectedModel: Decodable {
    let projection_dim: Int
    let logit_scale_init_value: Double
    let vision: ExpectedVision
    let text: ExpectedText
}

private struct ExpectedPreprocessor: Decodable {
    let image_mean, image_std: [Double]
    let shortest_edge, crop_size, resample: Int
}

private func expectedJSON() throws -> Data {
    try Data(contentsOf: configurationFile("configurations_expected.json"))
}

private func activationName(_ activation: Activation) -> String {
    switch activation {
    case .quickGELU: return "quick_gelu"
    case .gelu: return "gelu"
    case .relu: return "relu"
    }
}

@Suite("Configurations")
struct ConfigurationTests {
    @Test(
        "config.json resolves like transformers' CLIPConfig",
        arguments: ["config_vit_b32.json", "config_minimal.json", "config_legacy_dicts.json"])
    func modelConfiguration(name: String) throws {
        let all = try JSONDecoder().decode([String: ExpectedModel].self, from: expectedJSON().filteringModels())
        let expected = try #require(all[name])
        let configuration = try CLIPConfiguration(contentsOf: configurationFile(name))

        #expect(configuration.projectionSize == expected.projection_dim)
        #expect(configuration.logitScaleInitialValue == Float(expected.logit_scale_init_value))
        let vision = configuration.vision
        #expect(vision.hiddenSize == expected.vision.hidden_size)
        #expect(vision.intermediateSize == expected.vision.intermediate_size)
        #expect(vision.layerCount == expected.vision.num_hidden_layers)
        #expect(vision.headCount == expected.vision.num_attention_heads)
        #expect(vision.imageSize == expected.vision.image_size)
        #expect(vision.patchSize == expected.vision.patch_size)
        #expect(vision.channelCount == expected.vision.num_channels)
        #expect(vision.layerNormEpsilon == Float(expected.vision.layer_norm_eps))
        #expect(activationName(vision.activation) == expected.vision.hidden_act)
        let text = configuration.text
        #expect(text.vocabularySize == expected.text.vocab_size)
        #expect(text.hiddenSize == expected.text.hidden_size)
        #expect(text.intermediateSize == expected.text.intermediate_size)
        #expect(text.layerCount == expected.text.num_hidden_layers)
        #expect(text.headCount == expected.text.num_attention_heads)
        #expect(text.maximumPositionCount == expected.text.max_position_embeddings)
        #expect(text.layerNormEpsilon == Float(expected.text.layer_norm_eps))
        #expect(activationName(text.activation) == expected.text.hidden_act)
    }

    @Test("ViT-B/32 derived sizes: 50 tokens, 64-wide heads")
    func derivedSizes() throws {
        let configuration = try CLIPConfiguration(contentsOf: configurationFile("config_vit_b32.json"))
        let vision = configuration.vision
        #expect(vision.tokenCount == (vision.imageSize / vision.patchSize) * (vision.imageSize / vision.patchSize) + 1)
        #expect(vision.headSize * vision.headCount == vision.hiddenSize)
        #expect(configuration == CLIPConfiguration(), "the defaults are ViT-B/32's")
    }

    @Test(
        "Inconsistent configurations name the file and key",
        arguments: [
            "config_bad_heads.json", "config_bad_activation.json", "config_bad_type.json", "config_bad_syntax.json",
        ])
    func badConfiguration(name: String) throws {
        let keys = try JSONDecoder().decode(BadKeys.self, from: expectedJSON()).bad_keys
        let expectedKey = try #require(keys[name])
        let url = configurationFile(name)
        do {
            _ = try CLIPConfiguration(contentsOf: url)
            Issue.record("accepted \(name)")
        } catch let error as CLIPEncoderError {
            guard case .invalidConfiguration(let path, let key, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == url.path)
            #expect(key == expectedKey)
        }
    }

    @Test(
        "preprocessor_config.json resolves like transformers' CLIPImageProcessor",
        arguments: ["preprocessor_config.json", "preprocessor_old_layout.json"])
    func preprocessorConfiguration(name: String) throws {
        let all = try JSONDecoder().decode([String: ExpectedPreprocessor].self, from: expectedJSON().filteringPreprocessors())
        let expected = try #require(all[name])
        let configuration = try PreprocessorConfiguration(contentsOf: configurationFile(name))
        #expect(configuration.imageMean == expected.image_mean.map { Float($0) })
        #expect(configuration.imageStandardDeviation == expected.image_std.map { Float($0) })
        #expect(configuration.shortestEdge == expected.shortest_edge)
        #expect(configuration.cropSize == expected.crop_size)
        #expect(configuration.resample.rawValue == expected.resample)
    }

    @Test("A model folder without preprocessor_config.json gets CLIP's preprocessing")
    func preprocessorDefaults() throws {
        let all = try JSONDecoder().decode([String: ExpectedPreprocessor].self, from: expectedJSON().filteringPreprocessors())
        let reference = try #require(all["preprocessor_config.json"])  // CLIPImageProcessor() defaults
        let folder = configurationFolder.appendingPathComponent("no-such-model")
        let configuration = try PreprocessorConfiguration(modelFolder: folder)
        var defaults = PreprocessorConfiguration()
        defaults.pipeline = .transformersPil  // a Hugging Face folder's pipeline
        #expect(configuration == defaults)
        #expect(configuration.imageMean == reference.image_mean.map { Float($0) })
        #expect(configuration.imageStandardDeviation == reference.image_std.map { Float($0) })
        #expect(configuration.shortestEdge == reference.shortest_edge)
        #expect(configuration.cropSize == reference.crop_size)
        #expect(configuration.resample == .bicubic)
    }

    @Test("The preprocessing identifier changes with every setting")
    func preprocessingIdentifier() throws {
        let standard = PreprocessorConfiguration()
        let old = try PreprocessorConfiguration(contentsOf: configurationFile("preprocessor_old_layout.json"))
        var shifted = standard
        shifted.imageMean[2] += 0.001
        var bilinear = standard
        bilinear.resample = .bilinear
        let identifiers = [standard, old, shifted, bilinear, PreprocessorConfiguration(shortestEdge: 224, cropSize: 200)]
            .map(\.identifier)
        #expect(Set(identifiers).count == identifiers.count)
        #expect(standard.identifier == PreprocessorConfiguration().identifier)
    }
}

private struct BadKeys: Decodable {
    let bad_keys: [String: String]
}

extension Data {
    /// The expected-values JSON restricted to the model configurations (keys `config_*`).
    fileprivate func filteringModels() throws -> Data {
        try filtering { $0.hasPrefix("config_") }
    }

    /// The expected-values JSON restricted to the preprocessor configurations.
    fileprivate func filteringPreprocessors() throws -> Data {
        try filtering { $0.hasPrefix("preprocessor_") }
    }

    private func filtering(_ keep: (String) -> Bool) throws -> Data {
        let object = try JSONSerialization.jsonObject(with: self) as? [String: Any] ?? [:]
        return try JSONSerialization.data(withJSONObject: object.filter { keep($0.key) })
    }
}
