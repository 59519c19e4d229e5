/// Errors raised by the CLIP encoder module: weights files, configuration files, images and
/// preprocessing. Every case names the file (and tensor or key) involved, so that the message
/// alone is enough to find the cause.
public enum CLIPEncoderError: Error, CustomStringConvertible, Equatable {
    // MARK: Files

    /// A file could not be opened, read, mapped or written.
    case fileAccessFailed(path: String, operation: String, reason: String)

    // MARK: safetensors

    /// The safetensors header as a whole is malformed: length, JSON syntax, top-level layout.
    case invalidSafeTensorsHeader(path: String, reason: String)
    /// One tensor entry of a safetensors header is malformed or inconsistent (unknown dtype,
    /// byte size not matching dtype × shape, offsets outside the data section or overlapping).
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    /// The file holds no tensor with this name.
    case tensorNotFound(path: String, tensor: String)
    /// The tensor's element type cannot be read as `Float` (only F32, F16 and BF16 can).
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A tensor has another shape than the model expects.
    case tensorShapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A tensor handed to the safetensors writer is inconsistent (name, shape, value count).
    case invalidTensorForWriting(path: String, tensor: String, reason: String)
    /// A tensor holds NaN or an infinity (at flat `index`); checked when weights are loaded.
    case nonFiniteTensor(path: String, tensor: String, index: Int, value: Float)

    // MARK: Configuration

    /// A configuration file (`config.json`, `preprocessor_config.json`) is malformed or holds an
    /// unusable value; `key` is the dotted path of the offending entry, such as
    /// `vision_config.hidden_size`.
    case invalidConfiguration(path: String, key: String, reason: String)

    // MARK: Model

    /// A model directory lacks a required file or holds one the encoder cannot use.
    case invalidModelDirectory(path: String, reason: String)
    /// Token sequences handed to the text tower are unusable (ragged, too long, unknown ids).
    case invalidTokens(reason: String)
    /// Pixels handed to the vision tower do not match the model's image size.
    case invalidPixels(expected: [Int], actualCount: Int)
    /// The weights file holds tensors that the configuration does not use (`tensors`, sorted).
    case unusedTensors(path: String, tensors: [String], configurationFile: String)

    // MARK: Images

    /// An image file holds no bytes at all.
    case emptyImageFile(path: String)
    /// An image file starts with neither the PNG nor the JPEG signature.
    case unrecognizedImageFormat(path: String)
    /// The PNG or JPEG decoder rejected the data (truncated, corrupt, unsupported variant).
    case imageDecodingFailed(path: String, format: String, reason: String)
    /// The header announces more pixels than the decoder accepts; checked before allocating.
    case imageTooLarge(path: String, width: Int, height: Int, limitPixels: Int)
    /// An image or size cannot be preprocessed (e.g. zero width, or pixels not matching the size).
    case invalidImage(path: String, reason: String)
    /// A preprocessing pipeline name that is not one of `PreprocessingPipeline`'s.
    case unknownPreprocessing(name: String, accepted: [String])

    public var description: String {
        switch self {
        case .fileAccessFailed(let path, let operation, let reason):
            return "\(path): \(operation) failed: \(reason)"
        case .invalidSafeTensorsHeader(let path, let reason):
            return "\(path): invalid safetensors header: \(reason)"
        case .invalidTensorEntry(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case .tensorNotFound(let path, let tensor):
            return "\(path): no tensor named '\(tensor)'"
        case .unsupportedDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which cannot be read as float "
                + "(supported: F32, F16, BF16)"
        case .tensorShapeMismatch(let path, let tensor, let expected, let actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case .invalidTensorForWriting(let path, let tensor, let reason):
            return "\(path): cannot write tensor '\(tensor)': \(reason)"
        case .nonFiniteTensor(let path, let tensor, let index, let value):
            return "\(path): tensor '\(tensor)' holds \(value) at element \(index): weights must be finite numbers (a corrupt or diverged checkpoint?)"
        case .invalidConfiguration(let path, let key, let reason):
            return "\(path): \(key): \(reason)"
        case .invalidModelDirectory(let path, let reason):
            return "\(path): not a usable CLIP model directory: \(reason)"
        case .invalidTokens(let reason):
            return "invalid token sequences: \(reason)"
        case .invalidPixels(let expected, let actualCount):
            let side = expected.last ?? 0
            return "pixels do not match the model: expected \(expected) (\(expected.reduce(1, *)) values), got \(actualCount) values; "
                + "images must be preprocessed to the vision tower's \(side)×\(side) pixels, as the model folder's preprocessor "
                + "configuration says (preprocessor_config.json: crop_size and size.shortest_edge; open_clip: preprocess_cfg.size)"
        case .unusedTensors(let path, let tensors, let configurationFile):
            let shown = tensors.prefix(8).joined(separator: ", ") + (tensors.count > 8 ? ", … (\(tensors.count) in all)" : "")
            return "\(path): \(tensors.count) tensor\(tensors.count == 1 ? "" : "s") that \(configurationFile) does not use: \(shown) "
                + "(a layer count or architecture in \(configurationFile) that does not match the weights?)"
        case .emptyImageFile(let path):
            return "\(path): image file is empty"
        case .unrecognizedImageFormat(let path):
            return "\(path): not a PNG or JPEG image (unrecognised signature)"
        case .imageDecodingFailed(let path, let format, let reason):
            return "\(path): \(format) decoding failed: \(reason)"
        case .imageTooLarge(let path, let width, let height, let limitPixels):
            return "\(path): image is \(width)×\(height) = \(width * height) pixels, "
                + "more than the limit of \(limitPixels)"
        case .invalidImage(let path, let reason):
            return "\(path): \(reason)"
        case .unknownPreprocessing(let name, let accepted):
            return "unknown preprocessing pipeline '\(name)' (accepted: \(accepted.joined(separator: ", ")))"
        }
    }
}
