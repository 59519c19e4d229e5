import CLIPEncoder
import Foundation
import Support

/// `manifest.json` of a key folder: what the features are, for people and tools browsing the
/// cache. The safetensors metadata is what the cache itself trusts; the manifest is rewritten
/// whenever the folder's state changes.
public struct FeatureCacheManifest: Codable, Sendable, Equatable {
    /// `in_progress` while chunks or shards are being computed, `complete` once the final file exists.
    public var status: String
    /// The key folder's name.
    public var key: String
    public var formatVersion: Int
    public var modelDigest: String
    public var dataset: String
    public var split: String
    public var classNames: [String]
    public var fileListDigest: String
    public var preprocessing: String
    public var transform: String
    public var view: Int
    public var augmentation: String
    /// Items in the split.
    public var count: Int
    /// Feature width.
    public var dim: Int
    /// The final file's name (present once `status` is `complete`).
    public var featuresFile: String
    /// When this manifest was written (ISO 8601).
    public var updated: String
    public var toolVersion: String
    /// CRC-32 of the final file's values (each cache file also carries its own in its
    /// metadata, which is verified whenever the file is used); absent while in progress.
    public var featuresChecksum: String?

    enum CodingKeys: String, CodingKey {
        case status, key, dataset, split, transform, view, augmentation, count, dim, preprocessing, updated
        case formatVersion = "format_version"
        case modelDigest = "model_digest"
        case classNames = "class_names"
        case fileListDigest = "file_list_digest"
        case featuresFile = "features_file"
        case toolVersion = "tool_version"
        case featuresChecksum = "features_crc32"
    }

    init(key: FeatureCacheKey, complete: Bool, dimension: Int, toolVersion: String) {
        status = complete ? "complete" : "in_progress"
        self.key = key.hash
        formatVersion = FeatureCacheKey.formatVersion
        modelDigest = key.modelDigest
        dataset = key.dataset
        split = key.split
        classNames = key.classNames
        fileListDigest = key.itemsDigest
        preprocessing = key.preprocessing
        transform = key.transform
        view = key.view
        augmentation = key.augmentation
        count = key.itemCount
        dim = dimension
        featuresFile = FeatureCache.featuresFileName
        updated = ISO8601DateFormatter().string(from: Date())
        self.toolVersion = toolVersion
    }

    /// Reads `manifest.json` of a key folder.
    public static func read(folder: URL) throws -> FeatureCacheManifest {
        let url = folder.appendingPathComponent(FeatureCache.manifestFileName)
        do {
            return try JSONDecoder().decode(FeatureCacheManifest.self, from: Data(contentsOf: url))
        } catch {
            throw FeatureCacheError.unusableCacheFile(path: url.path, reason: ReadableError.reason(error))
        }
    }

    /// Writes the manifest into `folder`, atomically.
    func write(folder: URL) throws {
        let url = folder.appendingPathComponent(FeatureCache.manifestFileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(self).write(to: url, options: .atomic)
        } catch {
            throw FeatureCacheError.fileOperationFailed(path: url.path, operation: "write", reason: ReadableError.reason(error))
        }
    }
}

extension FeatureCacheManifest {
    /// The manifest of a complete folder, from a final file's metadata.
    init(metadata: [String: String], keyHash: String, count: Int, dimension: Int) {
        status = "complete"
        key = keyHash
        formatVersion = Int(metadata["format_version"] ?? "") ?? FeatureCacheKey.formatVersion
        modelDigest = metadata["model_digest"] ?? ""
        dataset = metadata["dataset"] ?? ""
        split = metadata["split"] ?? ""
        let classData = Data((metadata["class_names"] ?? "[]").utf8)
        classNames = (try? JSONDecoder().decode([String].self, from: classData)) ?? []
        fileListDigest = metadata["file_list_digest"] ?? ""
        preprocessing = metadata["preprocessing"] ?? ""
        transform = metadata["transform"] ?? ""
        view = Int(metadata["view"] ?? "") ?? 0
        augmentation = metadata["augmentation"] ?? ""
        self.count = count
        dim = dimension
        featuresFile = FeatureCache.featuresFileName
        updated = ISO8601DateFormatter().string(from: Date())
        toolVersion = metadata["tool_version"] ?? ""
    }
}
