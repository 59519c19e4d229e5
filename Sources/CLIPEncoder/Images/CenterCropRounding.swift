/// Where a center crop's window starts along a side, a point on which the references for CLIP
/// preprocessing disagree. They differ only when `side − crop` is odd (the window is then one
/// row or column apart) or when padding is odd.
public enum CenterCropRounding: String, Sendable, Equatable, CaseIterable {
    /// OpenAI CLIP's torchvision pipeline (`CenterCrop`): the window starts at
    /// `round((side − crop) / 2)` with ties to even (Python's `round`); a side shorter than the
    /// crop gets `(crop − side) / 2` black pixels before it, rounded down. The default: the
    /// published CLIP figures use it.
    case openai
    /// Hugging Face transformers' image processors: the window starts at `(side − crop) // 2`
    /// (rounded down); a shorter side gets `(crop − side) / 2` black pixels before it, rounded
    /// up (the PIL-backend `center_crop`).
    case transformers
    /// transformers ≥ 5's torchvision-backed `CLIPImageProcessor`: the window starts at
    /// `int((side − crop) / 2.0)` (rounded down); a shorter side gets `(crop − side) // 2` black
    /// pixels before it, rounded down.
    case transformersTorchvision = "transformers-torchvision"

    /// Offset of the crop window along a side of `side` pixels for a crop of `crop`: the first
    /// source pixel of the window, negative when the window starts in the padding.
    public func offset(side: Int, crop: Int) -> Int {
        switch self {
        case .openai:
            if side >= crop {
                return Int((Double(side - crop) / 2).rounded(.toNearestOrEven))
            }
            return -((crop - side) / 2)
        case .transformers:
            if side >= crop {
                return (side - crop) / 2
            }
            return -((crop - side + 1) / 2)
        case .transformersTorchvision:
            if side >= crop {
                return (side - crop) / 2
            }
            return -((crop - side) / 2)
        }
    }
}
