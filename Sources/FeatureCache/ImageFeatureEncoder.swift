import CLIPEncoder

/// What the feature cache needs from an image model: an identity for cache keys, the
/// preprocessing it expects, and a batch encoder. `CLIPModel` conforms; tests wrap it to count
/// calls.
public protocol ImageFeatureEncoder: Sendable {
    /// A digest of the model's configuration and weights (changes whenever features would).
    var digest: String { get }
    /// How images are resized, cropped and normalised for this model.
    var preprocessorConfiguration: PreprocessorConfiguration { get }
    /// Side of the square input the vision tower reads.
    var inputImageSize: Int { get }
    /// Width of one embedding.
    var embeddingSize: Int { get }
    /// Embeddings `[batch, embeddingSize]` of preprocessed images `[batch, 3, size, size]`.
    func encodeImages(pixels: [Float], normalize: Bool) throws -> [Float]
}

extension CLIPModel: ImageFeatureEncoder {
    /// The vision tower's `image_size`.
    public var inputImageSize: Int { configuration.vision.imageSize }
}
