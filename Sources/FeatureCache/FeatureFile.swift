import CLIPEncoder
import CZlib
import Foundation

/// The safetensors files of the cache: the final `features.safetensors`, the chunks of an
/// extraction in progress, and shards. Each holds `features` `[count, dimension]` F32 and
/// `labels` `[count]` F32 (exact for labels below 2²⁴), with metadata naming the key and the
/// rows it covers, so that a file is only used where it belongs.
enum FeatureFile {
    /// The role of a file.
    enum Kind: String {
        case final
        case chunk
        case shard
    }

    /// Where a file's rows sit and what they belong to.
    struct Header: Equatable {
        var kind: Kind
        var keyHash: String
        /// Index in the split of the first row.
        var firstIndex: Int
        /// Rows in the file.
        var count: Int
        /// Items in the whole split.
        var totalCount: Int
        var dimension: Int
        /// For shards: which one of how many.
        var shardIndex: Int = 0
        var shardCount: Int = 1
    }

    /// Rows read from a file.
    struct Contents {
        var header: Header
        var metadata: [String: String]
        var features: [Float]
        var labels: [Int]
    }

    /// Metadata of a file: the key's components, the header, creation date and tool version.
    static func metadata(header: Header, key: FeatureCacheKey, toolVersion: String, created: Date = Date()) -> [String: String] {
        var metadata = keyMetadata(key)
        metadata["kind"] = header.kind.rawValue
        metadata["key"] = header.keyHash
        metadata["first_index"] = String(header.firstIndex)
        metadata["count"] = String(header.count)
        metadata["total_count"] = String(header.totalCount)
        metadata["dim"] = String(header.dimension)
        if header.kind == .shard {
            metadata["shard_index"] = String(header.shardIndex)
            metadata["shard_count"] = String(header.shardCount)
        }
        metadata["created"] = ISO8601DateFormatter().string(from: created)
        metadata["tool_version"] = toolVersion
        return metadata
    }

    /// The key's components as metadata strings (`class_names` as a JSON array).
    static func keyMetadata(_ key: FeatureCacheKey) -> [String: String] {
        [
            "format": "upadapter-features",
            "format_version": String(FeatureCacheKey.formatVersion),
            "model_digest": key.modelDigest,
            "dataset": key.dataset,
            "split": key.split,
            "class_names": "[" + key.classNames.map(SafeTensorsTextEscaping.jsonString).joined(separator: ",") + "]",
            "file_list_digest": key.itemsDigest,
            "preprocessing": key.preprocessing,
            "transform": key.transform,
            "view": String(key.view),
            "augmentation": key.augmentation,
        ]
    }

    /// Name of the metadata entry holding the CRC-32 of the values (`checksum(features:labels:)`).
    static let checksumKey = "values_crc32"

    /// Writes rows atomically (temporary file, then rename), with the values' checksum in the
    /// metadata.
    /// - Throws: `FeatureCacheError.nonFiniteFeatures` when a feature is NaN or infinite (nothing
    ///   is written), `CLIPEncoderError.fileAccessFailed` when writing fails.
    static func write(features: [Float], labels: [Int], metadata: [String: String], header: Header, to url: URL) throws {
        if let index = features.firstIndex(where: { !$0.isFinite }) {
            throw FeatureCacheError.nonFiniteFeatures(path: url.path, row: index / max(header.dimension, 1))
        }
        var metadata = metadata
        metadata[checksumKey] = checksum(features: features, labels: labels.map(Float.init))
        try SafeTensorsWriter.write(
            [
                (name: "features", shape: [header.count, header.dimension], values: features),
                (name: "labels", shape: [header.count], values: labels.map(Float.init)),
            ],
            metadata: metadata, storage: .float32, to: url)
    }

    /// Reads a file and checks it against `expected` (every field of the header must match).
    /// - Throws: `FeatureCacheError.unusableCacheFile` naming the file and the mismatch, or the
    ///   `CLIPEncoderError` of a file that is not valid safetensors (truncated, corrupt).
    static func read(_ url: URL, expected: Header) throws -> Contents {
        let file = try SafeTensorsFile(url: url)
        let header = try header(of: file)
        guard header == expected else {
            throw FeatureCacheError.unusableCacheFile(path: url.path, reason: "holds \(describe(header)), expected \(describe(expected))")
        }
        return try contents(of: file, header: header)
    }

    /// The header stored in `file`'s metadata.
    /// - Throws: `FeatureCacheError.unusableCacheFile` when a field is missing or malformed.
    static func header(of file: SafeTensorsFile) throws -> Header {
        func text(_ name: String) throws -> String {
            guard let value = file.metadata[name] else {
                throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "metadata has no '\(name)'")
            }
            return value
        }
        func number(_ name: String) throws -> Int {
            guard let value = Int(try text(name)), value >= 0 else {
                throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "metadata '\(name)' is not a count")
            }
            return value
        }
        guard file.metadata["format"] == "upadapter-features",
              file.metadata["format_version"] == String(FeatureCacheKey.formatVersion)
        else {
            throw FeatureCacheError.unusableCacheFile(
                path: file.path, reason: "not a feature file of format version \(FeatureCacheKey.formatVersion)")
        }
        guard let kind = Kind(rawValue: try text("kind")) else {
            throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "unknown kind '\(file.metadata["kind"] ?? "")'")
        }
        var header = Header(
            kind: kind, keyHash: try text("key"), firstIndex: try number("first_index"), count: try number("count"),
            totalCount: try number("total_count"), dimension: try number("dim"))
        if kind == .shard {
            header.shardIndex = try number("shard_index")
            header.shardCount = try number("shard_count")
        }
        return header
    }

    /// CRC-32 (zlib's) of the features' then the labels' little-endian F32 bytes, as 8 hex digits.
    static func checksum(features: [Float], labels: [Float]) -> String {
        var crc = crc32(0, nil, 0)
        for values in [features, labels] {
            values.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {  // zlib takes at most 4 GiB per call
                    let length = min(bytes.count - offset, 1 << 30)
                    crc = crc32(crc, bytes.baseAddress?.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(length))
                    offset += length
                }
            }
        }
        let digits = String(crc, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The tensors of `file`, checked against `header`'s shape and the checksum in its metadata.
    /// - Throws: `FeatureCacheError.unusableCacheFile` for another shape, a missing or different
    ///   checksum (values altered after writing), or a label that is not a whole number.
    static func contents(of file: SafeTensorsFile, header: Header) throws -> Contents {
        let featuresInfo = try file.info("features"), labelsInfo = try file.info("labels")
        guard featuresInfo.shape == [header.count, header.dimension], labelsInfo.shape == [header.count] else {
            throw FeatureCacheError.unusableCacheFile(
                path: file.path,
                reason: "tensor shapes features \(featuresInfo.shape), labels \(labelsInfo.shape) do not match [\(header.count), \(header.dimension)]")
        }
        let features = try file.floats("features")
        let labelValues = try file.floats("labels")
        guard let stored = file.metadata[checksumKey] else {
            throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "metadata has no '\(checksumKey)' (written by an older version)")
        }
        let actual = checksum(features: features, labels: labelValues)
        guard stored == actual else {
            throw FeatureCacheError.unusableCacheFile(
                path: file.path, reason: "checksum mismatch: the values were altered after writing (stored \(stored), computed \(actual))")
        }
        if let index = features.firstIndex(where: { !$0.isFinite }) {
            throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "row \(index / max(header.dimension, 1)) holds NaN or infinite values")
        }
        var labels: [Int] = []
        labels.reserveCapacity(header.count)
        for value in labelValues {
            guard value.isFinite, value.rounded() == value, abs(value) < 16_777_216 else {
                throw FeatureCacheError.unusableCacheFile(path: file.path, reason: "label \(value) is not a whole number")
            }
            labels.append(Int(value))
        }
        return Contents(header: header, metadata: file.metadata, features: features, labels: labels)
    }

    private static func describe(_ header: Header) -> String {
        var text = "\(header.kind.rawValue) of key \(header.keyHash), rows \(header.firstIndex)..<\(header.firstIndex + header.count) of \(header.totalCount), dim \(header.dimension)"
        if header.kind == .shard { text += ", shard \(header.shardIndex)/\(header.shardCount)" }
        return text
    }
}
