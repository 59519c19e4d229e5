import CLIPEncoder
import FileIntegrity
import Foundation
import Testing

@testable import Datasets
@testable import Experiments
@testable import FeatureCache

/// Image transforms, item loading and augmented views.
///
/// The SHA-256 digests come from the demo's own shift code (`scripts/demo_shifts.py`), written to
/// `Fixtures/shift_digests.json` by `scripts/make_shift_fixtures.py`; the synthetic images are
/// `(3r² + 17c + 59i + 11·((r·c) mod 7) + 40·⌊r/5⌋) mod 256` for indices i = 5…8, the last one
/// constant 77, as in that script.
@Suite("Image transforms")
struct ImageTransformTests {
    struct ShiftDigests: Decodable {
        let synthetic: [String: String]
        let fashion_mnist_test_64: [String: String]
    }

    static let digests: ShiftDigests? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/shift_digests.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(ShiftDigests.self, from: $0) }
    }()

    /// Digests of the synthetic images 5…8 under each demo shift.
    static var syntheticDigests: [String: String] { digests?.synthetic ?? [:] }

    /// Digests of the first 64 Fashion-MNIST test images under each demo shift.
    static var fashionMNISTDigests: [String: String] { digests?.fashion_mnist_test_64 ?? [:] }

    static let fashionMNISTTestImages = IDXSource.defaultFashionMNISTFolder.appendingPathComponent("t10k-images-idx3-ubyte.gz")

    static func grey(_ values: [UInt8], width: Int, height: Int = 1) -> InMemoryImage {
        InMemoryImage(width: width, height: height, channels: 1, pixels: values)
    }

    static func apply(_ name: String, _ parameters: [String: Double] = [:], to image: InMemoryImage, index: Int = 0) throws -> [UInt8] {
        try ImageTransform(ImageTransformSpec(name: name, parameters: parameters)).apply(to: image, index: index).pixels
    }

    /// `floor(min(max(y, 0), 1) · 255 + 0.5)`, written out again for the expectations.
    static func quantised(_ y: Double) -> UInt8 { UInt8((min(max(y, 0), 1) * 255 + 0.5).rounded(.down)) }

    // MARK: Agreement with the demo's shifts

    @Test("Each demo shift reproduces scripts/demo_shifts.py byte for byte on synthetic images")
    func demoShiftsOnSyntheticImages() throws {
        var images: [InMemoryImage] = []
        for index in 5...8 {
            var pixels = [UInt8](repeating: 77, count: 28 * 28)
            if index != 8 {
                for row in 0..<28 {
                    for column in 0..<28 {
                        let value = 3 * row * row + 17 * column + 59 * index + 11 * ((row * column) % 7) + 40 * (row / 5)
                        pixels[row * 28 + column] = UInt8(value % 256)
                    }
                }
            }
            images.append(Self.grey(pixels, width: 28, height: 28))
        }
        #expect(Self.syntheticDigests.count == 6, "Fixtures/shift_digests.json is missing or incomplete")
        for (name, expected) in Self.syntheticDigests.sorted(by: { $0.key < $1.key }) {
            let transform = try ImageTransform(ImageTransformSpec(name: name))
            var bytes: [UInt8] = []
            for (offset, image) in images.enumerated() {
                bytes += transform.apply(to: image, index: 5 + offset).pixels
            }
            #expect(SHA256.hex(bytes) == expected, "shift \(name)")
        }
    }

    @Test(
        "Each demo shift reproduces the demo's digests of the first 64 Fashion-MNIST test images",
        .enabled(if: FileManager.default.fileExists(atPath: fashionMNISTTestImages.path)))
    func demoShiftsOnFashionMNIST() throws {
        let split = try IDXSource(
            name: "fashion-mnist", files: IDXSource.standardFiles(in: IDXSource.defaultFashionMNISTFolder),
            classNames: IDXSource.fashionMNISTClassNames
        ).split("test")
        let loader = ItemImageLoader()
        let images = try (0..<64).map { try loader.storedPixels(of: split.items[$0], index: $0) }
        #expect(images.allSatisfy { $0.channels == 1 && $0.width == 28 && $0.height == 28 })
        #expect(Self.fashionMNISTDigests.count == 6, "Fixtures/shift_digests.json is missing or incomplete")
        for (name, expected) in Self.fashionMNISTDigests.sorted(by: { $0.key < $1.key }) {
            let transform = try ImageTransform(ImageTransformSpec(name: name))
            let bytes = images.enumerated().flatMap { transform.apply(to: $0.element, index: $0.offset).pixels }
            #expect(SHA256.hex(bytes) == expected, "shift \(name)")
        }
    }

    // MARK: Formulas on hand-checkable inputs

    @Test("inversion maps x to 255 − x")
    func inversion() throws {
        #expect(try Self.apply("invert", to: Self.grey([0, 10, 255], width: 3)) == [255, 245, 0])
        #expect(try Self.apply("inversion", to: Self.grey([1, 128, 254], width: 3)) == [254, 127, 1])
    }

    @Test("partial_invert mixes x and 1 − x; contrast_inversion is offset − slope · x")
    func partialInversion() throws {
        // amount 0.25: y = 0.75 x + 0.25 (1 − x) = 0.25 + 0.5 x → 63.75, 191.25, 89.25 before rounding.
        #expect(try Self.apply("partial_invert", ["amount": 0.25], to: Self.grey([0, 255, 51], width: 3)) == [64, 191, 89])
        // Full amount is a plain inversion.
        #expect(try Self.apply("partial_invert", ["amount": 1], to: Self.grey([0, 10, 255], width: 3)) == [255, 245, 0])
        // offset 0.9, slope 0.5: 0.9 → 230 (229.5 + 0.5), 0.4 → 102, 0.9 − 0.1 = 0.8 → 204.
        #expect(try Self.apply("contrast_inversion", ["offset": 0.9, "slope": 0.5], to: Self.grey([0, 255, 51], width: 3))
            == [Self.quantised(0.9), Self.quantised(0.4), Self.quantised(0.9 - 0.5 * (51.0 / 255.0))])
        // Defaults 0.7 − 0.4 x, the demo's partial contrast inversion.
        let defaults = try Self.apply("contrast_inversion", to: Self.grey([0, 255, 128], width: 3))
        #expect(defaults == [Self.quantised(0.7), Self.quantised(0.7 - 0.4), Self.quantised(0.7 - 0.4 * (128.0 / 255.0))])
    }

    @Test("blur_noise without noise is the binomial blur B / 65280")
    func binomialBlur() throws {
        // A single bright pixel in a 5 × 1 row: row taps give 255·[1, 4, 6, 4, 1], the column
        // pass (one row, clamped) multiplies by 16: B = [4080, 16320, 24480, 16320, 4080],
        // B / 65280 = [0.0625, 0.25, 0.375, 0.25, 0.0625] → [15.94, 63.75, 95.63, …] → rounded.
        let row = Self.grey([0, 0, 255, 0, 0], width: 5)
        #expect(try Self.apply("blur_noise", ["noise": 0], to: row) == [16, 64, 96, 64, 16])
        // A constant image stays constant.
        #expect(try Self.apply("blur_noise", ["noise": 0], to: Self.grey([100, 100, 100, 100], width: 2, height: 2))
            == [100, 100, 100, 100])
        // Gaussian taps: σ = 0.5 → radius 2, weights exp(−k²/0.5) normalised.
        let raw = (-2...2).map { exp(-Double($0 * $0) / 0.5) }
        let taps = raw.map { $0 / raw.reduce(0, +) }
        let expected = (0..<5).map { column -> UInt8 in
            var sum = 0.0
            for (tap, weight) in taps.enumerated() {
                sum += weight * (min(max(column + tap - 2, 0), 4) == 2 ? 255.0 : 0.0)
            }
            return Self.quantised(sum / 255)
        }
        #expect(try Self.apply("blur_noise", ["noise": 0, "sigma": 0.5], to: row) == expected)
    }

    @Test("edges is the Sobel magnitude over its maximum")
    func edges() throws {
        // Rows [0, 0, 255]: gy = 0; gx = 0, 4·255, 4·255 (right border clamped) → 0, 1, 1.
        let step = Self.grey([0, 0, 255, 0, 0, 255, 0, 0, 255], width: 3, height: 3)
        #expect(try Self.apply("edges", to: step) == [0, 255, 255, 0, 255, 255, 0, 255, 255])
        let flat = Self.grey([9, 9, 9, 9], width: 2, height: 2)
        #expect(try Self.apply("edges", to: flat) == [0, 0, 0, 0])
        // RGB input: the grey value (PIL's luma) drives the edges, written to all three channels.
        let rgb = InMemoryImage(width: 2, height: 1, channels: 3, pixels: [0, 0, 0, 255, 0, 0])
        // grey = [0, (19595·255 + 32768) >> 16 = 76]; gx = 4·76 at both pixels → 1, 1.
        #expect(try Self.apply("edges", to: rgb) == [255, 255, 255, 255, 255, 255])
    }

    @Test("low_contrast_noise without noise is offset + factor · x")
    func lowContrast() throws {
        // offset 0.25, factor 0.5: 0.25 + 0.5 x → 63.75, 191.25, 89.25 before rounding.
        #expect(try Self.apply("low_contrast", ["offset": 0.25, "factor": 0.5, "noise": 0], to: Self.grey([0, 255, 51], width: 3)) == [64, 191, 89])
        #expect(try Self.apply("low_contrast_noise", ["noise": 0], to: Self.grey([0, 255], width: 2))
            == [Self.quantised(0), Self.quantised(0.4)])
    }

    @Test("solarize inverts bytes at or above the threshold")
    func solarize() throws {
        #expect(try Self.apply("solarize", to: Self.grey([0, 127, 128, 255], width: 4)) == [0, 127, 127, 0])
        #expect(try Self.apply("solarize", ["threshold": 200], to: Self.grey([199, 200], width: 2)) == [199, 55])
    }

    @Test("noise samples: 12 SplitMix64 uniforms of state seed · 2³² + index, minus 6")
    func noiseStream() {
        // Published SplitMix64 outputs for state 0.
        var reference = SplitMixReference(state: 0)
        #expect(reference.next() == 0xE220_A839_7B1D_CDAF)
        #expect(reference.next() == 0x6E78_9E6A_A1B9_65F4)
        for (seed, index) in [(UInt64(0), 0), (1, 7), (2, 123)] {
            var generator = SplitMixReference(state: (seed << 32) + UInt64(index))
            var expected: [Double] = []
            for _ in 0..<3 {
                var total = 0.0
                for _ in 0..<12 { total += Double(generator.next() >> 11) / 9_007_199_254_740_992 }
                expected.append(total - 6)
            }
            #expect(ShiftNoise.samples(seed: seed, index: index, count: 3) == expected)
        }
    }

    @Test("noisy transforms are deterministic per image and differ between images and seeds")
    func determinism() throws {
        let image = Self.grey([UInt8](repeating: 128, count: 64), width: 8, height: 8)
        for name in ["blur_noise", "low_contrast_noise"] {
            let first = try Self.apply(name, to: image, index: 3)
            #expect(try Self.apply(name, to: image, index: 3) == first)
            #expect(try Self.apply(name, to: image, index: 4) != first)
            #expect(try Self.apply(name, ["seed": 9], to: image, index: 3) != first)
            #expect(Set(first).count > 3, "noise should spread the values of \(name)")
        }
        #expect(try ImageTransform(ImageTransformSpec(name: "blur_noise")).usesNoise)
        #expect(try !ImageTransform(ImageTransformSpec(name: "edges")).usesNoise)
    }

    @Test("unknown names and parameters are refused with the accepted ones")
    func invalidSpecifications() throws {
        #expect(throws: FeatureCacheError.self) { try ImageTransform(ImageTransformSpec(name: "rotate")) }
        do {
            _ = try ImageTransform(ImageTransformSpec(name: "blur_noise", parameters: ["sigmaa": 1]))
            Issue.record("a misspelt parameter was accepted")
        } catch let error as FeatureCacheError {
            #expect(error.description.contains("sigmaa"))
            #expect(error.description.contains("noise"))
        }
        #expect(throws: FeatureCacheError.self) {
            try ImageTransform(ImageTransformSpec(name: "partial_invert", parameters: ["amount": 2]))
        }
        #expect(throws: FeatureCacheError.self) {
            try ImageTransform(ImageTransformSpec(name: "low_contrast", parameters: ["seed": 1.5]))
        }
        // Canonical descriptions spell out the defaults, so equivalent specs share cache keys.
        #expect(try ImageTransform(ImageTransformSpec(name: "low_contrast")).description
            == ImageTransform(ImageTransformSpec(name: "low_contrast_noise", parameters: ["factor": 0.4, "seed": 2])).description)
    }

    // MARK: Item loading

    @Test("grey in-memory items are transformed as grey, then copied to three channels")
    func inMemoryItems() throws {
        let image = Self.grey([0, 10, 255, 7], width: 2, height: 2)
        let loader = ItemImageLoader()
        let plain = try loader.image(for: LabeledImage(source: .pixels(image), label: 0), index: 0)
        #expect(plain.width == 2 && plain.height == 2)
        #expect(plain.pixels == [0, 0, 0, 10, 10, 10, 255, 255, 255, 7, 7, 7])
        let inverted = try loader.image(
            for: LabeledImage(source: .pixels(image), label: 0, transform: ImageTransformSpec(name: "invert")), index: 0)
        #expect(inverted.pixels == [255, 255, 255, 245, 245, 245, 0, 0, 0, 248, 248, 248])

        let broken = InMemoryImage(width: 2, height: 2, channels: 1, pixels: [1, 2, 3])
        #expect(throws: FeatureCacheError.self) { try loader.image(for: LabeledImage(source: .pixels(broken), label: 0), index: 4) }
        let twoChannels = InMemoryImage(width: 1, height: 1, channels: 2, pixels: [1, 2])
        #expect(throws: FeatureCacheError.self) { try loader.image(for: LabeledImage(source: .pixels(twoChannels), label: 0), index: 0) }
    }

    @Test("file items decode as ImageDecoder does; RGB transforms work per channel")
    func fileItems() throws {
        let file = FeatureCacheFixtures.imageFolder.appendingPathComponent("rgb.png")
        let decoded = try ImageDecoder.decode(file: file)
        let loader = ItemImageLoader()
        #expect(try loader.image(for: LabeledImage(source: .file(file), label: 1), index: 0) == decoded)
        let inverted = try loader.image(
            for: LabeledImage(source: .file(file), label: 1, transform: ImageTransformSpec(name: "inversion")), index: 0)
        #expect(inverted.pixels == decoded.pixels.map { 255 - $0 })
        let missing = LabeledImage(source: .file(file.deletingLastPathComponent().appendingPathComponent("absent.png")), label: 0)
        #expect(throws: CLIPEncoderError.self) { try loader.image(for: missing, index: 0) }
    }

    @Test("draft decoding reduces plain JPEG file items, not transformed ones, whose parameters are in stored pixels")
    func draftFileItems() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CLIPEncoderTests/Fixtures/images/draft_rgb_300x250.jpg")
        let loader = ItemImageLoader()
        let plain = try loader.image(for: LabeledImage(source: .file(file), label: 0), index: 0, draftSide: 60)
        #expect(plain == (try ImageDecoder.decode(file: file, draftSide: 60)))
        #expect(plain.width == 75 && plain.height == 63, "300×250 reduced by 4 for a side of 60")
        let transformed = try loader.image(
            for: LabeledImage(source: .file(file), label: 0, transform: ImageTransformSpec(name: "inversion")), index: 0, draftSide: 60)
        #expect(transformed.width == 300 && transformed.height == 250)
    }

    // MARK: Augmented views

    @Test("augmented views are reproducible, vary by view, and respect the crop ranges")
    func augmentation() throws {
        let augmentation = ViewAugmentation(seed: 11, outputSize: 35)
        var flips = 0
        var placements = Set<[Int]>()
        for view in 1...40 {
            let place = augmentation.placement(width: 300, height: 250, index: 7, view: view)
            #expect(place == augmentation.placement(width: 300, height: 250, index: 7, view: view))
            let area = Double(place.width * place.height) / Double(300 * 250)
            let ratio = Double(place.width) / Double(place.height)
            // Rounding the sides to whole pixels moves area and ratio slightly past the ranges.
            #expect(area > 0.48 && area < 1.0001, "view \(view): area fraction \(area)")
            #expect(ratio > 0.74 && ratio < 1.35, "view \(view): ratio \(ratio)")
            #expect(place.left >= 0 && place.top >= 0 && place.left + place.width <= 300 && place.top + place.height <= 250)
            if place.flipped { flips += 1 }
            placements.insert([place.left, place.top, place.width, place.height])
        }
        #expect(flips > 8 && flips < 32, "about half of the views should flip, got \(flips) of 40")
        #expect(placements.count > 30)
        #expect(augmentation.placement(width: 300, height: 250, index: 8, view: 1)
            != augmentation.placement(width: 300, height: 250, index: 7, view: 1))

        // No attempt fits a 100 × 2 image: torchvision's fallback keeps the full height and the widest allowed ratio.
        let fallback = augmentation.placement(width: 100, height: 2, index: 0, view: 1)
        #expect(fallback == ViewAugmentation.Placement(left: 48, top: 0, width: 3, height: 2, flipped: fallback.flipped))

        let photo = try ImageDecoder.decode(file: FeatureCacheFixtures.imageFolder.appendingPathComponent("photo_300x250.png"))
        let view = try augmentation.apply(to: photo, index: 7, view: 2)
        #expect(view.width == 35 && view.height == 35)
        #expect(try augmentation.apply(to: photo, index: 7, view: 2) == view)
        #expect(try augmentation.apply(to: photo, index: 7, view: 3) != view)
        #expect(try ViewAugmentation(seed: 12, outputSize: 35).apply(to: photo, index: 7, view: 2) != view)
    }

    @Test("a flipped view is the mirror image")
    func mirror() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        #expect(try ViewAugmentation.mirrored(image).pixels == [4, 5, 6, 1, 2, 3])
    }
}

/// The reference SplitMix64 generator (Steele, Lea, Flood 2014), written out for the tests.
struct SplitMixReference {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
