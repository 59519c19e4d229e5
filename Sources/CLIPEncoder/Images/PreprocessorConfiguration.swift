import Foundation
import Support

/// How images are prepared for the vision tower, read from a Hugging Face
/// `preprocessor_config.json`; CLIP's values when the file is absent.
public struct PreprocessorConfiguration: Sendable, Equatable {
    /// Per-channel mean subtracted after scaling to [0, 1] (R, G, B).
    public var imageMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// Per-channel standard deviation divided by after subtracting the mean (R, G, B).
    public var imageStandardDeviation: [Float] = [0.26862954, 0.26130258, 0.27577711]
    /// The shorter side is resized to this many pixels (`size` / `size.shortest_edge`).
    public var shortestEdge: Int = 224
    /// Side of the square center crop (`crop_size`); the output is `[3, cropSize, cropSize]`.
    public var cropSize: Int = 224
    /// Interpolation of the resize (`resample`, PIL's numeric code).
    public var resample: ResampleFilter = .bicubic
    /// How the image is fitted before the crop (open_clip's `resize_mode`).
    public var resizeMode: ResizeMode = .shortest

    /// open_clip's `resize_mode` values this preprocessing implements.
    public enum ResizeMode: String, Sendable, Equatable {
        /// The shorter side becomes `shortestEdge`, the aspect ratio is kept, then the center crop:
        /// CLIP's and Hugging Face's preprocessing, open_clip's default.
        case shortest
        /// Both sides become `cropSize`, the aspect ratio is not kept; the crop is then the whole image.
        case squash
    }
    /// Which upstream pipeline the preprocessing equals (`PreprocessingPipeline`). Not part of
    /// `preprocessor_config.json`: Hugging Face folders default to `transformers-pil`
    /// (`init(modelFolder:)`), open_clip folders and `init()` to `openai`; experiments set it
    /// with `extraction.preprocessing`, commands with `--preprocessing`.
    public var pipeline: PreprocessingPipeline = .openai
    /// Where the center crop's window starts when `(side − crop) / 2` is a half, replacing the
    /// pipeline's own rule; nil (the default) keeps the pipeline's (`effectiveCropRounding`).
    /// Experiments set it with `extraction.crop_rounding`.
    public var cropRounding: CenterCropRounding?
    /// The crop rule in use: `cropRounding`, or the pipeline's own.
    public var effectiveCropRounding: CenterCropRounding { cropRounding ?? pipeline.cropRounding }
    /// Whether JPEG files are decoded at full size (the default) or reduced in draft mode before
    /// the resize. Not part of `preprocessor_config.json`; experiments set it with
    /// `extraction.jpeg_decoding`.
    public var jpegDecoding: JPEGDecoding = .full

    /// The side draft mode must keep on both sides of a JPEG, or nil at full size: the shorter
    /// side the resize produces (`shortestEdge`), or the crop for `squash`.
    public var draftSide: Int? {
        guard jpegDecoding == .draft else { return nil }
        return resizeMode == .shortest ? shortestEdge : cropSize
    }

    /// A short text that changes whenever the preprocessed values would, for cache keys,
    /// e.g. `resize224-bicubic-crop224-mean0.48145466,0.4578275,0.40821073-std...-openai`: the
    /// pipeline's name always ends the geometry and values; a crop rule other than the
    /// pipeline's own adds `-crop<rule>` and draft decoding `-jpegdraft`.
    public var identifier: String {
        let filter = resample == .bicubic ? "bicubic" : "bilinear"
        let mean = imageMean.map { "\($0)" }.joined(separator: ",")
        let deviation = imageStandardDeviation.map { "\($0)" }.joined(separator: ",")
        let mode = resizeMode == .shortest ? "" : "-\(resizeMode.rawValue)"
        let rounding = effectiveCropRounding == pipeline.cropRounding ? "" : "-crop\(effectiveCropRounding.rawValue)"
        let decoding = jpegDecoding == .full ? "" : "-jpeg\(jpegDecoding.rawValue)"
        return "resize\(shortestEdge)\(mode)-\(filter)-crop\(cropSize)-mean\(mean)-std\(deviation)-\(pipeline.rawValue)\(rounding)\(decoding)"
    }

    /// CLIP's preprocessing: 224 pixels, bicubic, OpenAI's mean and standard deviation.
    public init() {}

    /// A configuration with the given sizes and CLIP's mean, standard deviation and filter.
    public init(shortestEdge: Int, cropSize: Int) {
        self.shortestEdge = shortestEdge
        self.cropSize = cropSize
    }

    /// Reads `preprocessor_config.json` from a Hugging Face model `folder`, or returns the CLIP
    /// defaults when the folder has no such file; the pipeline is `transformers-pil`.
    /// - Throws: as `init(contentsOf:)`.
    public init(modelFolder folder: URL) throws {
        let file = folder.appendingPathComponent("preprocessor_config.json")
        if FileManager.default.fileExists(atPath: file.path) {
            try self.init(contentsOf: file)
        } else {
            self.init()
        }
        pipeline = .transformersPil
    }

    /// Reads a `preprocessor_config.json`; missing keys keep CLIP's values.
    /// - Throws: `CLIPEncoderError.fileAccessFailed` when unreadable, `.invalidConfiguration`
    ///   naming the key for a malformed or unsupported value.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CLIPEncoderError.fileAccessFailed(path: url.path, operation: "read", reason: ReadableError.reason(error))
        }
        try self.init(json: data, path: url.path)
    }

    /// The largest resize or crop size accepted (pixels per side).
    public static let maximumSize = 8192

    /// Reads preprocessor configuration JSON `data`; `path` names it in errors.
    /// - Throws: `CLIPEncoderError.invalidConfiguration` naming the key.
    public init(json data: Data, path: String) throws {
        let reader = try CheckpointJSONReader(data: data, path: path)
        imageMean = try Self.triple(reader, "image_mean", default: imageMean)
        imageStandardDeviation = try Self.triple(reader, "image_std", default: imageStandardDeviation)
        guard imageStandardDeviation.allSatisfy({ $0 > 0 }) else {
            throw reader.failure("image_std", "every value must be positive, got \(imageStandardDeviation)")
        }
        shortestEdge = try Self.size(reader, "size", members: ["shortest_edge"], default: shortestEdge)
        cropSize = try Self.size(reader, "crop_size", members: ["height", "width"], default: cropSize)
        // Every image is resized to these sizes: bounded before any pixel buffer is reserved.
        for (key, value) in [("size", shortestEdge), ("crop_size", cropSize)] where value > Self.maximumSize {
            throw reader.failure(key, "\(value) pixels is more than the \(Self.maximumSize) supported")
        }
        let code = try reader.integer("resample", default: resample.rawValue)
        guard let filter = ResampleFilter(rawValue: code) else {
            throw reader.failure("resample", "unsupported filter code \(code) (supported: 2 bilinear, 3 bicubic)")
        }
        resample = filter
        for flag in ["do_resize", "do_center_crop"] {
            if case .bool(false) = reader.value(flag) {
                throw reader.failure(flag, "false is not supported: CLIP images are always resized and cropped")
            }
        }
        if case .bool(false) = reader.value("do_normalize") {
            imageMean = [0, 0, 0]
            imageStandardDeviation = [1, 1, 1]
        }
    }

    private static func triple(_ reader: CheckpointJSONReader, _ key: String, default defaultValue: [Float]) throws -> [Float] {
        guard let value = reader.value(key) else { return defaultValue }
        guard let numbers = value.doubleArray, numbers.count == 3, numbers.allSatisfy(\.isFinite) else {
            throw reader.failure(key, "expected three numbers (R, G, B)")
        }
        return numbers.map { Float($0) }
    }

    /// A size given as an integer or as an object whose `members` must all hold the same
    /// positive integer (e.g. `{"height": 224, "width": 224}`).
    private static func size(
        _ reader: CheckpointJSONReader, _ key: String, members: [String], default defaultValue: Int
    ) throws -> Int {
        guard let value = reader.value(key) else { return defaultValue }
        if value.objectValue != nil, let object = try reader.object(key) {
            let sizes = try members.map { member -> Int in
                guard object.has(member) else { throw object.failure(member, "missing") }
                return try object.positiveInteger(member, default: 0)
            }
            guard let first = sizes.first, sizes.allSatisfy({ $0 == first }) else {
                throw reader.failure(key, "only square sizes are supported, got \(sizes)")
            }
            return first
        }
        guard value.integerValue != nil else { throw reader.failure(key, "expected an integer or an object") }
        return try reader.positiveInteger(key, default: defaultValue)
    }
}
