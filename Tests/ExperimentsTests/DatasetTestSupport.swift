import Foundation
import TestSupport
import Testing

@testable import Datasets
@testable import Experiments

/// Fixture locations and helpers shared by the dataset and configuration tests.
enum DatasetFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// The tiny data root written by scripts/make_dataset_fixtures.py.
    static let root = folder.appendingPathComponent("datasets", isDirectory: true)
    /// The repository's Configs/ folder.
    static let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Configs", isDirectory: true)

    /// datasets_expected.json, as written by the fixture script.
    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("datasets_expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The expected class names and (path relative to `root`, label) items of one split.
    static func expectedSplit(_ dataset: String, _ split: String) throws -> (classNames: [String], items: [(String, Int)]) {
        let all = try expected()
        let entry = try #require((all[dataset] as? [String: Any])?[split] as? [String: Any], "no fixture for \(dataset)/\(split)")
        let classNames = try #require(entry["class_names"] as? [String])
        let rawItems = try #require(entry["items"] as? [[Any]])
        let items = try rawItems.map { pair -> (String, Int) in
            (try #require(pair[0] as? String), try #require(pair[1] as? Int))
        }
        return (classNames, items)
    }

    /// `split`'s items as (path relative to `base`, label).
    static func relativeItems(_ split: DatasetSplit, base: URL = root) throws -> [(String, Int)] {
        let prefix = base.standardizedFileURL.path + "/"
        return try split.items.map { item in
            let path = try #require(item.source.fileURL).standardizedFileURL.path
            #expect(path.hasPrefix(prefix), "\(path) is not under \(prefix)")
            return (String(path.dropFirst(prefix.count)), item.label)
        }
    }

    /// Checks a split against the fixture script's expectation.
    static func expectMatches(_ split: DatasetSplit, dataset: String, splitName: String, base: URL = root) throws {
        let expected = try expectedSplit(dataset, splitName)
        #expect(split.name == splitName)
        #expect(split.classNames == expected.classNames)
        let actual = try relativeItems(split, base: base)
        #expect(actual.map(\.0) == expected.items.map(\.0))
        #expect(actual.map(\.1) == expected.items.map(\.1))
    }
}

extension TemporaryFolder {
    /// Copies `relative` from the fixture data root into this folder (same relative path).
    func copyFixture(_ relative: String) throws {
        try copy(DatasetFixtures.root.appendingPathComponent(relative), to: relative)
    }
}
