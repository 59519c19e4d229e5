/// How JPEG files are decoded before the resize: at full size (the default, what every CLIP
/// reference does), or in draft mode, where libjpeg-turbo's scaled inverse DCT delivers the
/// image already reduced by 2, 4 or 8, as Pillow's `Image.draft` does.
///
/// Draft mode is an opt-in speed setting for collections of large photos: a 2000×1500 JPEG
/// decodes at 500×375 for a 224-pixel model, and preprocessing runs about twice as fast, but the
/// reduction in the DCT domain is not the bicubic resize's filter, so the preprocessed pixels
/// differ from the references (docs/benchmarks.md measures by how much). PNG files are never
/// reduced.
public enum JPEGDecoding: String, Sendable, Equatable, CaseIterable {
    /// Every JPEG at its full size: pixels equal `Image.open(path).convert("RGB")`.
    case full
    /// The largest reduction `s` of 8, 4 and 2 with both sides still at least the size the
    /// resize needs, `min(width / side, height / side) ≥ s` in integer division, decoded at
    /// `ceil(width / s) × ceil(height / s)`: Pillow's `image.draft("RGB", (side, side))`.
    case draft

    /// The reduction draft mode applies to a `width × height` JPEG whose resize needs at least
    /// `side` pixels along both sides: 8, 4, 2, or 1 (none).
    public static func draftReduction(width: Int, height: Int, side: Int) -> Int {
        guard side > 0 else { return 1 }
        let room = min(width / side, height / side)
        return [8, 4, 2].first { room >= $0 } ?? 1
    }
}
