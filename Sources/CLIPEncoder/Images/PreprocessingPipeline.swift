/// A named preprocessing pipeline, each equal to one upstream implementation (the versions
/// the fixtures were made with are in `Tests/CLIPEncoderTests/Fixtures/preprocessing/cases.json`).
///
/// The upstreams differ image mode by image mode and in three places: when the image becomes
/// RGB, which kernel resizes it, and how the center crop rounds.
///
/// | pipeline | equals | RGB conversion | resize | crop starts at |
/// |---|---|---|---|---|
/// | `openai` | OpenAI's CLIP `_transform` and open_clip's eval transform (Pillow) | after the crop | Pillow, in the image's own mode | `round((side − crop) / 2)`, ties to even |
/// | `transformers-pil` | transformers' `CLIPImageProcessorPil` | first (over white where there is alpha) | Pillow on RGB | `(side − crop) // 2` |
/// | `transformers` | transformers ≥ 5's default `CLIPImageProcessor` (torchvision backend) | first (over white where there is alpha) | torchvision's antialiased bicubic on a uint8 tensor | `(side − crop) // 2` |
///
/// By default the checkpoint format picks: `openai` for open_clip folders, `transformers-pil`
/// for Hugging Face folders (the Pillow pipeline the weights were published with, and
/// transformers 4.x's default). transformers 5 saves both of its processors under the same
/// `image_processor_type`, so a folder cannot tell which one a user runs: name `transformers`
/// explicitly to match transformers 5's default processor.
public enum PreprocessingPipeline: String, Sendable, Equatable, CaseIterable {
    /// OpenAI CLIP's and open_clip's pipeline: `Resize(size, BICUBIC)` and `CenterCrop(crop)`
    /// on the image as opened, then `convert("RGB")`. Pillow resizes `P` and `1` images with
    /// nearest-neighbour whatever filter is asked, `RGBA` and `LA` with premultiplied alpha,
    /// `I;16` with floating-point weights at 16 bits, `CMYK` on its ink amounts.
    case openai
    /// transformers' `CLIPImageProcessorPil`: `convert_to_rgb` first (images with alpha or
    /// `tRNS` transparency composited onto white, `SourceImage.convertedToRGBOverWhite`),
    /// Pillow's bicubic resize, then the crop rounded down.
    case transformersPil = "transformers-pil"
    /// transformers ≥ 5's `CLIPImageProcessor`: `convert_to_rgb` first, then torchvision's
    /// antialiased bicubic resize of the uint8 tensor (`TorchvisionResampler`), then its center
    /// crop.
    case transformers

    /// The accepted names, for messages.
    public static var acceptedNames: [String] { allCases.map(\.rawValue) }

    /// The pipeline called `name`.
    /// - Throws: `CLIPEncoderError.unknownPreprocessing` listing the accepted names.
    public init(name: String) throws {
        guard let pipeline = PreprocessingPipeline(rawValue: name) else {
            throw CLIPEncoderError.unknownPreprocessing(name: name, accepted: Self.acceptedNames)
        }
        self = pipeline
    }

    /// Where this pipeline's center crop starts.
    public var cropRounding: CenterCropRounding {
        switch self {
        case .openai: return .openai
        case .transformersPil: return .transformers
        case .transformers: return .transformersTorchvision
        }
    }

    /// Whether the image is converted to RGB before the resize (transformers) rather than after
    /// the crop (OpenAI, open_clip).
    public var convertsFirst: Bool { self != .openai }
}
