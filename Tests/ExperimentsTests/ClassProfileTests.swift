import Foundation
import Testing

@testable import Datasets
@testable import Experiments

/// `dataset.class_profile`: the counts each profile keeps, its determinism, the error for a
/// class with too few images, and the configuration keys.
@Suite("Class profiles")
struct ClassProfileTests {
    /// A split of `perClass` images of each class, classes interleaved (labels 0, 1, …, 0, 1, …).
    static func split(_ name: String, classes: Int = 10, perClass: [Int]) -> DatasetSplit {
        var items: [LabeledImage] = []
        for round in 0..<(perClass.max() ?? 0) {
            for label in 0..<classes where round < perClass[label] {
                let pixels = InMemoryImage(width: 1, height: 1, channels: 1, pixels: [UInt8(truncatingIfNeeded: round)])
                items.append(LabeledImage(source: .pixels(pixels), label: label))
            }
        }
        return DatasetSplit(datasetName: "toy", name: name, classNames: (0..<classes).map { "class \($0)" }, items: items)
    }

    /// The class counts along the profile's order, largest first.
    static func countsByRank(_ split: DatasetSplit, profile: ClassProfile) -> [Int] {
        let counts = split.classCounts
        return profile.classOrder(classCount: counts.count).map { counts[$0] }
    }

    /// 60 images per class, imbalance 10 over 10 classes: round(60 · 10^(−k/9)) for rank k,
    /// worked out with Python's `round(60 * 10 ** (-k / 9))`; with 20 per class (the test
    /// split), round(20 · 10^(−k/9)).
    @Test("long_tail keeps an exponential profile, largest/smallest = imbalance, in pool and test alike")
    func longTailCounts() throws {
        let profile = ClassProfile(kind: .longTail, imbalance: 10, seed: 3)
        let pool = try Self.split("train", perClass: Array(repeating: 60, count: 10)).applying(profile)
        let test = try Self.split("test", perClass: Array(repeating: 20, count: 10)).applying(profile)
        #expect(Self.countsByRank(pool.split, profile: profile) == [60, 46, 36, 28, 22, 17, 13, 10, 8, 6])
        #expect(Self.countsByRank(test.split, profile: profile) == [20, 15, 12, 9, 7, 6, 4, 3, 3, 2])
        // The same class is largest (and smallest) in both splits.
        let poolCounts = pool.split.classCounts, testCounts = test.split.classCounts
        #expect(poolCounts.firstIndex(of: 60) == testCounts.firstIndex(of: 20))
        #expect(poolCounts.firstIndex(of: 6) == testCounts.firstIndex(of: 2))
        // The kept positions point at the kept items, in the split's order.
        let full = Self.split("train", perClass: Array(repeating: 60, count: 10))
        #expect(pool.positions == pool.positions.sorted() && Set(pool.positions).count == pool.positions.count)
        #expect(pool.positions.map { full.items[$0] } == pool.split.items)
    }

    @Test("imbalance 50 over 10 classes of 1000 images: 1000 down to 20")
    func longTailFifty() throws {
        let profile = ClassProfile(kind: .longTail, imbalance: 50, seed: 1)
        let kept = try Self.split("test", perClass: Array(repeating: 1000, count: 10)).applying(profile).split.classCounts
        #expect(kept.max() == 1000 && kept.min() == 20)
    }

    @Test("the draw is seeded: the same seed gives the same items, another seed others; order label puts class 0 first")
    func seeded() throws {
        let full = Self.split("train", perClass: Array(repeating: 30, count: 10))
        let first = try full.applying(ClassProfile(kind: .longTail, imbalance: 5, seed: 7))
        let again = try full.applying(ClassProfile(kind: .longTail, imbalance: 5, seed: 7))
        let other = try full.applying(ClassProfile(kind: .longTail, imbalance: 5, seed: 8))
        #expect(first.positions == again.positions)
        #expect(first.positions != other.positions)
        let order = ClassProfile(kind: .longTail, imbalance: 5, seed: 7).classOrder(classCount: 10)
        #expect(order.sorted() == Array(0..<10) && order != Array(0..<10))
        let byLabel = try full.applying(ClassProfile(kind: .longTail, imbalance: 5, order: .label, seed: 7)).split.classCounts
        #expect(byLabel.first == 30 && byLabel.last == 6 && byLabel == byLabel.sorted(by: >))
    }

    @Test("counts keep exactly the given images; shares scale to the split; largest caps the largest class")
    func explicitProfiles() throws {
        let full = Self.split("train", classes: 3, perClass: [10, 10, 10])
        #expect(try full.applying(ClassProfile(kind: .counts, counts: [10, 0, 3])).split.classCounts == [10, 0, 3])
        #expect(try full.applying(ClassProfile(kind: .shares, shares: [1, 4, 2])).split.classCounts == [3, 10, 5])  // 10 · 1/4 = 2.5 → 3
        #expect(try full.applying(ClassProfile(kind: .shares, shares: [1, 4, 2], largest: 8)).split.classCounts == [2, 8, 4])
        // Unequal classes: the largest class is as big as the scarcest class allows.
        let uneven = Self.split("train", classes: 3, perClass: [10, 4, 10])
        #expect(try uneven.applying(ClassProfile(kind: .shares, shares: [1, 1, 1])).split.classCounts == [4, 4, 4])
    }

    @Test("a profile asking for more images than a class has is an error naming the class and the split")
    func tooFewImages() throws {
        let full = Self.split("test", classes: 3, perClass: [10, 10, 10])
        var named = full
        named.classNames = ["coat", "bag", "sandal"]
        do {
            _ = try named.applying(ClassProfile(kind: .counts, counts: [5, 12, 3]))
            Issue.record("no error")
        } catch let error as ExperimentsError {
            guard case .classProfileExceedsClass(let split, let className, let label, let requested, let available, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(split == "test" && className == "bag" && label == 1 && requested == 12 && available == 10)
            #expect(error.description.contains("'bag'") && error.description.contains("12"))
        }
        #expect(throws: ExperimentsError.self) { try full.applying(ClassProfile(kind: .longTail, imbalance: 10, largest: 11)) }
        // A list of the wrong length names its key.
        do {
            _ = try full.applying(ClassProfile(kind: .counts, counts: [1, 2]))
            Issue.record("no error")
        } catch let ExperimentsError.invalidValue(keyPath, _, _, _) {
            #expect(keyPath == "dataset.class_profile.counts")
        }
    }

    @Test("a class without images leaves no room for the others (the run refuses an empty split)")
    func emptyClass() throws {
        let profile = ClassProfile(kind: .longTail, imbalance: 2, order: .label)
        #expect(try profile.keptCounts(available: [10, 0, 10], classNames: ["a", "b", "c"], split: "train") == [0, 0, 0])
        // With `largest`, the empty class is the one named.
        do {
            _ = try ClassProfile(kind: .longTail, imbalance: 2, order: .label, largest: 4)
                .keptCounts(available: [10, 0, 10], classNames: ["a", "b", "c"], split: "train")
            Issue.record("no error")
        } catch let ExperimentsError.classProfileExceedsClass(_, className, _, requested, available, _) {
            // Rank 1 of 3 at imbalance 2: 4 · 2^(−1/2) = 2.83 → 3.
            #expect(className == "b" && requested == 3 && available == 0)
        }
    }

    // MARK: Configuration

    static let baseYAML = """
        model: {path: models/clip}
        prompts: {template: "a photo of a {}."}
        dataset:
          kind: idx
          name: fashion-mnist

        """

    static func load(_ profileYAML: String) throws -> ExperimentConfiguration {
        try ExperimentConfiguration(yaml: baseYAML + "  class_profile: " + profileYAML + "\n",
                                    baseDirectory: URL(fileURLWithPath: "/tmp"), sourceName: "test.yaml")
    }

    @Test("class_profile parses, and the resolved configuration reads back to the same profile")
    func parses() throws {
        let loaded = try Self.load("{kind: long_tail, imbalance: 10, seed: 4}")
        #expect(loaded.dataset.classProfile == ClassProfile(kind: .longTail, imbalance: 10, order: .shuffled, seed: 4))
        let reloaded = try ExperimentConfiguration(yaml: loaded.resolvedYAML(), baseDirectory: URL(fileURLWithPath: "/tmp"), sourceName: "r.yaml")
        #expect(reloaded.dataset.classProfile == loaded.dataset.classProfile)
        #expect(try Self.load("{kind: counts, counts: [5, 0, 2]}").dataset.classProfile?.counts == [5, 0, 2])
        #expect(try Self.load("{kind: shares, shares: [1, 0.5], largest: 30}").dataset.classProfile?.largest == 30)
        let none = try ExperimentConfiguration(yaml: Self.baseYAML, baseDirectory: URL(fileURLWithPath: "/tmp"), sourceName: "t.yaml")
        #expect(none.dataset.classProfile == nil)
    }

    @Test("configuration errors name the key", arguments: [
        ("{kind: long_tail, imbalance: 0.5}", "dataset.class_profile.imbalance"),
        ("{kind: long_tail}", "dataset.class_profile.imbalance"),
        ("{kind: zipf, imbalance: 10}", "dataset.class_profile.kind"),
        ("{imbalance: 10}", "dataset.class_profile.kind"),
        ("{kind: long_tail, imbalance: 10, counts: [1, 2]}", "dataset.class_profile.counts"),
        ("{kind: counts, counts: [3, -1]}", "dataset.class_profile.counts"),
        ("{kind: counts, counts: [0, 0]}", "dataset.class_profile.counts"),
        ("{kind: counts, counts: [3, 1], largest: 2}", "dataset.class_profile.largest"),
        ("{kind: shares, shares: [1, 0]}", "dataset.class_profile.shares"),
        ("{kind: shares}", "dataset.class_profile.shares"),
        ("{kind: long_tail, imbalance: 10, largest: 0}", "dataset.class_profile.largest"),
        ("{kind: long_tail, imbalance: 10, seed: -1}", "dataset.class_profile.seed"),
        ("{kind: long_tail, imbalance: 10, order: random}", "dataset.class_profile.order"),
        ("{kind: long_tail, imbalence: 10}", "dataset.class_profile.imbalence"),
        ("long_tail", "dataset.class_profile"),
    ])
    func errorsNameTheKey(yaml: String, key: String) throws {
        do {
            _ = try Self.load(yaml)
            Issue.record("\(yaml) was accepted")
        } catch let error as ExperimentsError {
            #expect(error.description.contains("'\(key)'"), "\(yaml): \(error)")
        }
    }
}
