/// An 8-bit RGB image, rows top to bottom, pixels interleaved `[height, width, 3]`.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `height × width × 3` bytes: R, G, B of pixel (0, 0), then of (0, 1), ...
    public let pixels: [UInt8]

    /// Wraps `pixels`.
    /// - Throws: `CLIPEncoderError.invalidImage` when the sizes are not positive or
    ///   `pixels.count` is not `width × height × 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw CLIPEncoderError.invalidImage(path: "(image)", reason: "size \(width)×\(height) is empty")
        }
        guard pixels.count == width * height * 3 else {
            throw CLIPEncoderError.invalidImage(
                path: "(image)",
                reason: "\(pixels.count) bytes do not hold \(width)×\(height) RGB pixels (\(width * height * 3))")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Builds an image from pixels whose count the caller has already checked.
    init(checkedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
