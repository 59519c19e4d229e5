import Foundation

/// The datasets of the CoOp / UPL / Tip-Adapter protocol that come with a CoOp split file or
/// list files, and where each one lives under the data root (CoOp's folder conventions).
public enum CoOpDataset: String, CaseIterable, Sendable {
    case caltech101 = "Caltech101"
    case oxfordPets = "OxfordPets"
    case stanfordCars = "StanfordCars"
    case flowers102 = "Flowers102"
    case food101 = "Food101"
    case fgvcAircraft = "FGVCAircraft"
    case sun397 = "SUN397"
    case dtd = "DTD"
    case euroSAT = "EuroSAT"
    case ucf101 = "UCF101"

    /// Finds a dataset by name, ignoring case, `_` and `-`; also accepts CoOp's class names
    /// `OxfordFlowers` and `DescribableTextures`.
    public init?(named name: String) {
        let key = name.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " }
        let aliases: [String: CoOpDataset] = ["oxfordflowers": .flowers102, "describabletextures": .dtd]
        if let found = Self.allCases.first(where: { $0.rawValue.lowercased() == key }) {
            self = found
        } else if let alias = aliases[key] {
            self = alias
        } else {
            return nil
        }
    }

    /// The dataset's folder under the data root.
    public var folderName: String {
        switch self {
        case .caltech101: return "caltech-101"
        case .oxfordPets: return "oxford_pets"
        case .stanfordCars: return "stanford_cars"
        case .flowers102: return "oxford_flowers"
        case .food101: return "food-101"
        case .fgvcAircraft: return "fgvc_aircraft"
        case .sun397: return "sun397"
        case .dtd: return "dtd"
        case .euroSAT: return "eurosat"
        case .ucf101: return "ucf101"
        }
    }

    /// The folder, relative to the dataset folder, that split-file paths are relative to
    /// (empty for Stanford Cars, whose paths start with `cars_train/` or `cars_test/`).
    public var imageFolder: String {
        switch self {
        case .caltech101: return "101_ObjectCategories"
        case .oxfordPets: return "images"
        case .stanfordCars: return ""
        case .flowers102: return "jpg"
        case .food101: return "images"
        case .fgvcAircraft: return "images"
        case .sun397: return "SUN397"
        case .dtd: return "images"
        case .euroSAT: return "2750"
        case .ucf101: return "UCF-101-midframes"
        }
    }

    /// The CoOp split file in the dataset folder; `nil` for FGVC Aircraft, which uses its own
    /// `images_variant_*.txt` lists.
    public var splitFileName: String? {
        switch self {
        case .caltech101: return "split_zhou_Caltech101.json"
        case .oxfordPets: return "split_zhou_OxfordPets.json"
        case .stanfordCars: return "split_zhou_StanfordCars.json"
        case .flowers102: return "split_zhou_OxfordFlowers.json"
        case .food101: return "split_zhou_Food101.json"
        case .fgvcAircraft: return nil
        case .sun397: return "split_zhou_SUN397.json"
        case .dtd: return "split_zhou_DescribableTextures.json"
        case .euroSAT: return "split_zhou_EuroSAT.json"
        case .ucf101: return "split_zhou_UCF101.json"
        }
    }

    /// A reader for this dataset under `root` (the folder that holds `caltech-101/`,
    /// `oxford_pets/`, ...).
    public func source(root: URL, options: DatasetReadOptions = DatasetReadOptions()) -> any DatasetSource {
        if self == .fgvcAircraft { return FGVCAircraftSource(root: root, options: options) }
        return CoOpSplitSource(dataset: self, root: root, options: options)
    }
}
