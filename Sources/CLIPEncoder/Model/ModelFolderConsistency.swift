import FileIntegrity
import Foundation
import Support

/// Checks that the files of a Hugging Face model folder agree with each other, so that a folder
/// that contradicts itself is refused (naming the file, the key and both values) or read the way
/// transformers reads it, never silently read another way.
///
/// - The vision configuration's `image_size` is the truth: without `preprocessor_config.json`
///   the images are resized and cropped to it (and a notice says so); a `crop_size` that differs
///   from it is an error, and a `size` or `crop_size` the file leaves out defaults to it.
/// - Every processor flag is applied as `CLIPImageProcessor` applies it, or refused:
///   `do_rescale` and `rescale_factor` are folded into the mean and standard deviation
///   (`(x · r − m) / s = (x / 255 − m / 255r) / (s / 255r)`); `do_convert_rgb: false` is refused
///   (a grayscale or RGBA file would not fit the three-channel tower).
enum ModelFolderConsistency {
    /// The name of the Hugging Face processor configuration file.
    static let preprocessorFileName = "preprocessor_config.json"

    /// The preprocessing of the Hugging Face model folder `folder`, checked against `vision`.
    /// - Parameters:
    ///   - folder: the model folder.
    ///   - vision: the vision tower's configuration from `config.json`.
    ///   - notice: called with a line for the log when the processor configuration is absent.
    /// - Throws: `CLIPEncoderError.invalidConfiguration` naming `preprocessor_config.json`, the
    ///   key and both values when the file disagrees with `vision_config.image_size`, or a flag
    ///   that cannot be applied.
    static func preprocessing(
        folder: URL, vision: CLIPConfiguration.Vision, notice: (String) -> Void
    ) throws -> PreprocessorConfiguration {
        let file = folder.appendingPathComponent(preprocessorFileName)
        let imageSize = vision.imageSize
        guard FileManager.default.fileExists(atPath: file.path) else {
            notice("\(folder.path) has no \(preprocessorFileName): images are resized and cropped to the vision config's "
                   + "image_size \(imageSize), with CLIP's mean, standard deviation and bicubic filter")
            return PreprocessorConfiguration(shortestEdge: imageSize, cropSize: imageSize)
        }
        try RegularFile.require(file)
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw CLIPEncoderError.fileAccessFailed(path: file.path, operation: "read", reason: ReadableError.reason(error))
        }
        var configuration = try PreprocessorConfiguration(json: data, path: file.path)
        let reader = try CheckpointJSONReader(data: data, path: file.path)
        let truth = "config.json's vision_config.image_size is \(imageSize)"
        if reader.has("crop_size") {
            guard configuration.cropSize == imageSize else {
                throw reader.failure("crop_size", "\(configuration.cropSize) pixels, but \(truth): the tower takes \(imageSize)×\(imageSize) images")
            }
        } else {
            configuration.cropSize = imageSize
        }
        if !reader.has("size") { configuration.shortestEdge = imageSize }
        if configuration.resizeMode == .shortest, configuration.shortestEdge < configuration.cropSize {
            throw reader.failure("size", "the shorter side is resized to \(configuration.shortestEdge) pixels, less than the "
                                 + "\(configuration.cropSize)-pixel crop (\(truth))")
        }
        if case .bool(false) = reader.value("do_convert_rgb") {
            throw reader.failure("do_convert_rgb", "false is not supported: every image is converted to RGB for the three-channel tower")
        }
        var factor = 1.0 / 255
        if reader.has("rescale_factor") {
            factor = try reader.double("rescale_factor", default: factor)
            guard factor.isFinite, factor > 0, factor <= 1 else {
                throw reader.failure("rescale_factor", "\(factor) is not in (0, 1]")
            }
        }
        if case .bool(false) = reader.value("do_rescale") { factor = 1 }
        // Our pixels are x / 255 before normalising; fold x · factor into the mean and deviation.
        let scale = Float(factor * 255)
        if abs(scale - 1) > 1e-6 {
            configuration.imageMean = configuration.imageMean.map { $0 / scale }
            configuration.imageStandardDeviation = configuration.imageStandardDeviation.map { $0 / scale }
        }
        return configuration
    }
}
