import Support

/// Errors raised while reading datasets and experiment configurations. Every case names the
/// file, folder or configuration key at fault, so that the message alone is enough to fix it.
public enum ExperimentsError: Error, CustomStringConvertible, Equatable, Sendable {
    // MARK: Configuration

    /// A configuration file does not exist.
    case configurationFileNotFound(path: String)
    /// A configuration file is not valid YAML, or its top level is not a mapping.
    case invalidYAML(file: String, reason: String)
    /// A key that no section of the configuration knows; `suggestion` is the nearest known key.
    case unknownKey(keyPath: String, file: String, suggestion: String?)
    /// A key holds a value of the wrong type.
    case wrongType(keyPath: String, file: String, expected: String, actual: String)
    /// A required key is absent from the configuration and all of its bases.
    case missingKey(keyPath: String, file: String)
    /// A key holds a value of the right type that is out of range or not one of the choices.
    case invalidValue(keyPath: String, file: String, value: String, reason: String)
    /// `base:` files refer back to a file already being loaded.
    case baseCycle(chain: [String])
    /// A `--set key.path=value` override that cannot be applied.
    case invalidOverride(override: String, reason: String)
    /// A path named by the configuration does not exist.
    case pathNotFound(keyPath: String, path: String)

    // MARK: Datasets

    /// The dataset's folder (or a folder it needs) does not exist.
    case datasetFolderMissing(dataset: String, path: String)
    /// A split file or list file the dataset needs does not exist.
    case splitFileMissing(dataset: String, path: String)
    /// A split file or list file cannot be parsed.
    case malformedSplitFile(file: String, reason: String)
    /// The dataset has no split of that name.
    case splitNotAvailable(dataset: String, split: String, available: [String])
    /// A label outside `0..<classCount`.
    case labelOutOfRange(file: String, label: Int, classCount: Int)
    /// Two entries give different class names to the same label.
    case inconsistentClassName(file: String, label: Int, names: [String])
    /// No entry names the class of this label although higher labels exist.
    case missingLabel(file: String, label: Int)
    /// A class has no image in a split.
    case emptyClass(dataset: String, split: String, className: String, location: String)
    /// An image listed by a split file does not exist.
    case imageMissing(path: String, listedIn: String)
    /// A class folder or class name that the class list does not contain.
    case unknownClass(name: String, location: String, classList: String)
    /// A class-name list whose length does not match the dataset's classes.
    case classCountMismatch(source: String, expected: Int, actual: Int)
    /// The dataset cannot be built from what the configuration says (unknown name, missing class names).
    case unsupportedDataset(name: String, reason: String)
    /// A file of the IDX format (MNIST, Fashion-MNIST) that is malformed.
    case malformedIDX(file: String, reason: String)
    /// An IDX images file and labels file that disagree on the number of items.
    case idxCountMismatch(imagesFile: String, images: Int, labelsFile: String, labels: Int)
    /// A gzip stream that zlib cannot inflate.
    case decompressionFailed(file: String, reason: String)
    /// A file or folder that exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// `dataset.class_profile` asks for more images of a class than the split holds.
    case classProfileExceedsClass(split: String, className: String, label: Int, requested: Int, available: Int, profile: String)

    // MARK: Prompts

    /// A class prompt gives more tokens than the model's context, and `prompts.truncate` is off.
    case promptTooLong(className: String, template: String, tokenCount: Int, contextLength: Int)
    /// Class names that are empty, repeated, or whose prompts cannot be told apart.
    case invalidClassNames(reason: String)

    public var description: String {
        switch self {
        case .configurationFileNotFound(let path):
            return "configuration file \(path) does not exist"
        case .invalidYAML(let file, let reason):
            return "\(file): invalid YAML: \(reason)"
        case .unknownKey(let keyPath, let file, let suggestion):
            let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
            return "\(file): unknown key '\(keyPath)'\(hint)"
        case .wrongType(let keyPath, let file, let expected, let actual):
            return "\(file): key '\(keyPath)' must be \(expected), found \(actual)"
        case .missingKey(let keyPath, let file):
            return "\(file): required key '\(keyPath)' is missing (set it in the file, a base, or with --set \(keyPath)=...)"
        case .invalidValue(let keyPath, let file, let value, let reason):
            return "\(file): key '\(keyPath)' has invalid value '\(value)': \(reason)"
        case .baseCycle(let chain):
            return "configuration bases form a cycle: " + chain.joined(separator: " -> ")
        case .invalidOverride(let override, let reason):
            return "override '--set \(override)': \(reason)"
        case .pathNotFound(let keyPath, let path):
            return "key '\(keyPath)' names \(path), which does not exist"
        case .datasetFolderMissing(let dataset, let path):
            return "\(dataset): folder \(path) does not exist (see docs/datasets.md for the expected layout)"
        case .splitFileMissing(let dataset, let path):
            return "\(dataset): file \(path) does not exist (see docs/datasets.md for where to get it)"
        case .malformedSplitFile(let file, let reason):
            return "\(file): \(reason)"
        case .splitNotAvailable(let dataset, let split, let available):
            return "\(dataset) has no split '\(split)'; available: \(available.joined(separator: ", "))"
        case .labelOutOfRange(let file, let label, let classCount):
            return "\(file): label \(label) is outside 0..<\(classCount)"
        case .inconsistentClassName(let file, let label, let names):
            return "\(file): label \(label) is named inconsistently: " + names.map { "'\($0)'" }.joined(separator: ", ")
        case .missingLabel(let file, let label):
            return "\(file): no entry has label \(label), but higher labels exist (class list has a gap)"
        case .emptyClass(let dataset, let split, let className, let location):
            return "\(dataset): class '\(className)' has no image in split '\(split)' (\(location))"
        case .imageMissing(let path, let listedIn):
            return "image \(path) listed in \(listedIn) does not exist"
        case .unknownClass(let name, let location, let classList):
            return "\(location): class '\(name)' is not in \(classList)"
        case .classCountMismatch(let source, let expected, let actual):
            return "\(source) gives \(actual) class names, the dataset has \(expected) classes"
        case .unsupportedDataset(let name, let reason):
            return "dataset '\(name)': \(reason)"
        case .malformedIDX(let file, let reason):
            return "\(file): not a valid IDX file: \(reason)"
        case .idxCountMismatch(let imagesFile, let images, let labelsFile, let labels):
            return "\(imagesFile) holds \(images) images but \(labelsFile) holds \(labels) labels"
        case .decompressionFailed(let file, let reason):
            return "\(file): gzip decompression failed: \(reason)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .classProfileExceedsClass(let split, let className, let label, let requested, let available, let profile):
            return "dataset.class_profile \(profile) asks for \(requested) images of class '\(className)' (label \(label)) "
                + "in split '\(split)', which holds \(available); lower class_profile.largest or the counts"
        case .promptTooLong(let className, let template, let tokenCount, let contextLength):
            return "the prompt of class '\(TerminalText.escaped(className))' with template \"\(TerminalText.escaped(template))\" gives "
                + "\(tokenCount) tokens (start and end included), more than the model's context length \(contextLength); "
                + "shorten the class name or template, or set prompts.truncate: true to cut such prompts (with a warning each)"
        case .invalidClassNames(let reason):
            return "class names: \(reason)"
        }
    }
}
