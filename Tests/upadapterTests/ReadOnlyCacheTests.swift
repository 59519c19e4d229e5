import Foundation
import TestSupport
import Testing

@testable import Experiments

/// Issue #12: a feature cache shared read-only (a cluster's common cache, mounted read-only)
/// is used, not refused. Permissions do not stop root, so the cache is made truly read-only by
/// a read-only bind mount in a private mount namespace (`unshare -m`, or `unshare -rm` as an
/// unprivileged user); the test says so and passes trivially where neither is allowed.
@Suite("Read-only feature cache", .serialized)
struct ReadOnlyCacheTests {
    /// The `unshare` options that give this process a mount namespace where a bind mount may be
    /// made read-only, or nil.
    static let unshare = URL(fileURLWithPath: "/usr/bin/unshare")

    static let namespaceOptions: [String]? = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("upadapter-ro-probe-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: probe) }
        for options in [["-m"], ["-r", "-m"]] {
            let script = #"mount --bind -o ro "$0" "$0" && ! touch "$0/probe" 2>/dev/null"#
            if let result = try? PipelineIntegrationTests.run(options + ["sh", "-c", script, probe.path], executable: unshare), result.status == 0 {
                return options
            }
        }
        return nil
    }()

    /// Runs `upadapter arguments` with `folder` mounted read-only over itself.
    static func runWithReadOnly(_ folder: URL, _ arguments: [String], options: [String]) throws -> (status: Int32, output: String) {
        let script = #"mount --bind -o ro "$0" "$0" && exec "$@""#
        return try PipelineIntegrationTests.run(options + ["sh", "-c", script, folder.path, PipelineIntegrationTests.binary.path] + arguments, executable: unshare)
    }

    /// Every file under `folder` with its size and modification date.
    static func snapshot(_ folder: URL) -> [String: String] {
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.contentModificationDateKey, .fileSizeKey])
        while let url = enumerator?.nextObject() as? URL {
            let values = try? url.resourceValues(forKeys: [.contentModificationDateKey, .fileSizeKey])
            files[url.path] = "\(values?.fileSize ?? -1) \(values?.contentModificationDate?.timeIntervalSince1970 ?? 0)"
        }
        return files
    }

    @Test("A warm cache mounted read-only is reused (its lock taken read-only); a cold one is refused by name")
    func readOnlyCache() throws {
        guard let options = Self.namespaceOptions else {
            print("note: no mount namespace with read-only bind mounts here (unshare -m / -rm refused); read-only cache test skipped")
            return
        }
        let root = try TemporaryFolder.create("readonly-cache")
        defer { try? FileManager.default.removeItem(at: root) }
        try PipelineIntegrationTests.writeColorDataset(root: root.appendingPathComponent("data"), classes: ["red", "green", "blue"], perClass: 5)
        func config(_ name: String, cache: String) throws -> URL {
            let url = root.appendingPathComponent("\(name).yaml")
            try PipelineIntegrationTests.writeColorConfig(url, """
                selection: {top_k: 3}
                training: {epochs: 2}
                baselines: {supervised_shots: [1]}
                methods: [zero_shot, paper]
                primary_method: paper
                extraction: {batch_size: 4, chunk_size: 4}
                cache_dir: \(cache)
                runs_dir: runs
                """)
            return url
        }
        let cache = root.appendingPathComponent("cache")
        let warm = try config("warm", cache: "cache")
        let first = try PipelineIntegrationTests.run(["run", "--config", warm.path, "--device", "cpu", "--quiet"])
        #expect(first.status == 0, "\(first.output)")
        let before = Self.snapshot(cache)
        #expect(before.keys.contains { $0.hasSuffix(".extract.lock") }, "\(before.keys.sorted())")

        let shared = try Self.runWithReadOnly(cache, ["run", "--config", warm.path, "--device", "cpu", "--quiet"], options: options)
        #expect(shared.status == 0, "read-only warm cache: status \(shared.status)\n\(shared.output)")
        #expect(shared.output.contains("report: "), "\(shared.output)")
        #expect(Self.snapshot(cache) == before, "the read-only cache changed")

        let empty = root.appendingPathComponent("empty-cache")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let cold = try config("cold", cache: "empty-cache")
        let refused = try Self.runWithReadOnly(empty, ["run", "--config", cold.path, "--device", "cpu", "--quiet"], options: options)
        #expect(refused.status == 1, "read-only cold cache: status \(refused.status)\n\(refused.output)")
        #expect(refused.output.contains(empty.path) && refused.output.lowercased().contains("read-only"), "\(refused.output)")
        for dump in ["NSCocoaErrorDomain", "Fatal error", "Error Domain="] { #expect(!refused.output.contains(dump), "\(refused.output)") }
    }
}
