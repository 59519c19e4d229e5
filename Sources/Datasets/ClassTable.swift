/// Builds a dataset's class list from `(label, class name)` pairs found in a list file,
/// checking that labels run from 0 without gaps and that each label has one name.
struct ClassTable {
    private var namesByLabel: [Int: String] = [:]
    private let file: String

    /// - Parameter file: the file the pairs come from, named in errors.
    init(file: String) {
        self.file = file
    }

    /// Records that `label` is called `name`.
    /// - Throws: `labelOutOfRange` for a negative label, `inconsistentClassName` when the label
    ///   already has another name.
    mutating func record(label: Int, name: String) throws {
        guard label >= 0 else { throw ExperimentsError.labelOutOfRange(file: file, label: label, classCount: namesByLabel.count) }
        if let existing = namesByLabel[label] {
            guard existing == name else {
                throw ExperimentsError.inconsistentClassName(file: file, label: label, names: [existing, name])
            }
        } else {
            namesByLabel[label] = name
        }
    }

    /// The class names ordered by label.
    /// - Throws: `missingLabel` for the first label below the highest that has no name,
    ///   `malformedSplitFile` when there is no class at all.
    func orderedNames() throws -> [String] {
        guard let highest = namesByLabel.keys.max() else {
            throw ExperimentsError.malformedSplitFile(file: file, reason: "no entries, so no classes")
        }
        var names: [String] = []
        names.reserveCapacity(highest + 1)
        for label in 0...highest {
            guard let name = namesByLabel[label] else { throw ExperimentsError.missingLabel(file: file, label: label) }
            names.append(name)
        }
        return names
    }
}

/// Throws `emptyClass` for the first class without an image in `split`.
func requireEveryClassPresent(_ split: DatasetSplit, location: String) throws {
    for (label, count) in split.classCounts.enumerated() where count == 0 {
        throw ExperimentsError.emptyClass(
            dataset: split.datasetName, split: split.name, className: split.classNames[label], location: location)
    }
}
