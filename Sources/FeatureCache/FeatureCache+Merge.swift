import CLIPEncoder
import Foundation
import Support

/// What `FeatureCache.merge(directory:)` did with one set of shards.
public struct ShardMergeOutcome: Sendable, Equatable {
    /// The state of the set.
    public enum Status: Sendable, Equatable {
        /// All shards were present and consistent; the final file was written and the shards removed.
        case merged
        /// The folder already had a complete final file; the shards were left alone.
        case alreadyComplete
        /// Some shards are missing (their indices); nothing was written.
        case incomplete(missing: [Int])
        /// The shards exist but disagree (the reason); nothing was written.
        case inconsistent(reason: String)
    }

    /// The key folder.
    public var folder: URL
    /// Number of shards in the set (`n` of `shard-i-of-n`).
    public var shardCount: Int
    /// Dataset and split as the shards' metadata names them (empty when unreadable).
    public var dataset: String
    public var split: String
    /// Items in the merged file (0 unless merged or already complete).
    public var count: Int
    public var status: Status
}

extension FeatureCache {
    /// Merges every complete set of shards under `directory`: for each key folder and each
    /// shard count `n` found in its `shards/` folder, checks that `shard-0-of-n` … `shard-(n−1)-of-n`
    /// all exist, carry the folder's key, and cover the split contiguously, then writes
    /// `features.safetensors` and `manifest.json` and removes the shard files.
    /// Each key folder is merged holding its extraction lock, so a merge never races an
    /// extraction of the same entry.
    /// - Returns: one outcome per (key folder, shard count), sorted by folder then count.
    /// - Throws: `FeatureCacheError.fileOperationFailed` when the folder cannot be listed or
    ///   locked, or the merged file cannot be written.
    public static func merge(directory: URL, toolVersion: String = FeatureCache.defaultToolVersion) throws -> [ShardMergeOutcome] {
        var outcomes: [ShardMergeOutcome] = []
        for folder in try subfolders(of: directory) {
            let lock = try Self.lock(folder.appendingPathComponent(extractionLockName))
            defer { lock.release() }
            for (shardCount, present) in shardSets(in: folder) {
                outcomes.append(mergeSet(folder: folder, shardCount: shardCount, present: present, toolVersion: toolVersion))
            }
        }
        return outcomes
    }

    /// Merges the first complete, consistent set of shards in `folder` (for `extract`).
    /// - Returns: whether a set was merged.
    func mergeCompleteShards(folder: URL, statistics: inout ExtractionStatistics) throws -> Bool {
        for (shardCount, present) in Self.shardSets(in: folder) where present.count == shardCount {
            let outcome = Self.mergeSet(folder: folder, shardCount: shardCount, present: present, toolVersion: toolVersion)
            if outcome.status == .merged { return true }
        }
        return false
    }

    private static func mergeSet(folder: URL, shardCount: Int, present: Set<Int>, toolVersion: String) -> ShardMergeOutcome {
        var outcome = ShardMergeOutcome(
            folder: folder, shardCount: shardCount, dataset: "", split: "", count: 0, status: .incomplete(missing: []))
        let missing = (0..<shardCount).filter { !present.contains($0) }
        guard missing.isEmpty else {
            outcome.status = .incomplete(missing: missing)
            return outcome
        }
        do {
            let files = try (0..<shardCount).map { index in
                try SafeTensorsFile(url: shardFile(folder: folder, shard: try FeatureShard(index: index, count: shardCount)))
            }
            let headers = try files.map(FeatureFile.header(of:))
            outcome.dataset = files.first?.metadata["dataset"] ?? ""
            outcome.split = files.first?.metadata["split"] ?? ""
            let finalFile = folder.appendingPathComponent(featuresFileName)
            if FileManager.default.fileExists(atPath: finalFile.path),
               let final = try? SafeTensorsFile(url: finalFile), let header = try? FeatureFile.header(of: final),
               header.kind == .final, header.keyHash == folder.lastPathComponent {
                outcome.count = header.count
                outcome.status = .alreadyComplete
                return outcome
            }
            try checkContiguous(headers, folder: folder, shardCount: shardCount)
            var features: [Float] = []
            var labels: [Int] = []
            for (file, header) in zip(files, headers) {
                let contents = try FeatureFile.contents(of: file, header: header)
                features.append(contentsOf: contents.features)
                labels.append(contentsOf: contents.labels)
            }
            let first = headers[0]
            let header = FeatureFile.Header(
                kind: .final, keyHash: first.keyHash, firstIndex: 0, count: first.totalCount, totalCount: first.totalCount,
                dimension: first.dimension)
            var metadata = files[0].metadata
            for name in ["shard_index", "shard_count"] { metadata[name] = nil }
            metadata["kind"] = FeatureFile.Kind.final.rawValue
            metadata["first_index"] = "0"
            metadata["count"] = String(header.count)
            metadata["created"] = ISO8601DateFormatter().string(from: Date())
            metadata["tool_version"] = toolVersion
            try FeatureFile.write(features: features, labels: labels, metadata: metadata, header: header, to: finalFile)
            var manifest = FeatureCacheManifest(metadata: metadata, keyHash: header.keyHash, count: header.count, dimension: header.dimension)
            manifest.featuresChecksum = FeatureFile.checksum(features: features, labels: labels.map(Float.init))
            try manifest.write(folder: folder)
            for index in 0..<shardCount {
                let shard = try FeatureShard(index: index, count: shardCount)
                try remove(shardFile(folder: folder, shard: shard))
                try remove(shardsFolder(folder).appendingPathComponent(shard.fileStem + ".chunks", isDirectory: true))
            }
            outcome.count = header.count
            outcome.status = .merged
        } catch {
            outcome.status = .inconsistent(reason: ReadableError.reason(error))
        }
        return outcome
    }

    /// Checks that the shards carry the folder's key, agree on size and width, and tile the split.
    private static func checkContiguous(_ headers: [FeatureFile.Header], folder: URL, shardCount: Int) throws {
        func fail(_ reason: String) -> FeatureCacheError { .incompleteShards(folder: folder.path, reason: reason) }
        guard let first = headers.first else { throw fail("no shards") }
        var next = 0
        for (index, header) in headers.enumerated() {
            let name = "shard-\(index)-of-\(shardCount)"
            guard header.kind == .shard, header.shardIndex == index, header.shardCount == shardCount else {
                throw fail("\(name) says it is shard \(header.shardIndex)/\(header.shardCount)")
            }
            guard header.keyHash == folder.lastPathComponent else {
                throw fail("\(name) belongs to key \(header.keyHash), not \(folder.lastPathComponent)")
            }
            guard header.totalCount == first.totalCount, header.dimension == first.dimension else {
                throw fail("\(name) has \(header.totalCount) items of width \(header.dimension), shard 0 has \(first.totalCount) of width \(first.dimension)")
            }
            guard header.firstIndex == next else {
                throw fail("\(name) starts at item \(header.firstIndex), expected \(next)")
            }
            next = header.firstIndex + header.count
        }
        guard next == first.totalCount else { throw fail("the shards cover \(next) of \(first.totalCount) items") }
    }

    /// Key folders under `directory` (none when it does not exist).
    private static func subfolders(of directory: URL) throws -> [URL] {
        let manager = FileManager.default
        guard manager.fileExists(atPath: directory.path) else { return [] }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw FeatureCacheError.fileOperationFailed(path: directory.path, operation: "list", reason: ReadableError.reason(error))
        }
        return names.sorted().compactMap { name in
            var isFolder: ObjCBool = false
            let url = directory.appendingPathComponent(name, isDirectory: true)
            guard manager.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else { return nil }
            return url
        }
    }

    /// The shard files in `folder/shards`, grouped by shard count (ascending).
    static func shardSets(in folder: URL) -> [(count: Int, present: Set<Int>)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shardsFolder(folder).path)) ?? []
        var sets: [Int: Set<Int>] = [:]
        for name in names where name.hasPrefix("shard-") && name.hasSuffix(".safetensors") {
            let stem = name.dropFirst("shard-".count).dropLast(".safetensors".count)
            let parts = stem.components(separatedBy: "-of-")
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0, index >= 0, index < count
            else { continue }
            sets[count, default: []].insert(index)
        }
        return sets.keys.sorted().map { ($0, sets[$0] ?? []) }
    }
}
