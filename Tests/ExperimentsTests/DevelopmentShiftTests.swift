import Foundation
import Testing

@testable import Datasets
@testable import Experiments
@testable import FeatureCache

/// The development shifts of the method study (cutout, pixelate, salt_pepper), checked against
/// their definitions on images whose results can be worked out by hand.
@Suite("Development shifts")
struct DevelopmentShiftTests {
    static func apply(_ name: String, _ parameters: [String: Double] = [:], to image: InMemoryImage, index: Int = 0) throws -> [UInt8] {
        try ImageTransform(ImageTransformSpec(name: name, parameters: parameters)).apply(to: image, index: index).pixels
    }

    @Test("pixelate replaces each block by its mean rounded half up, with partial blocks at the edges")
    func pixelate() throws {
        // 5 × 3 grey image; blocks of 2: columns {0,1}, {2,3}, {4}; rows {0,1}, {2}.
        let pixels: [UInt8] = [0, 1, 10, 20, 7,
                               2, 4, 30, 41, 8,
                               9, 9, 100, 101, 255]
        let image = InMemoryImage(width: 5, height: 3, channels: 1, pixels: pixels)
        let out = try Self.apply("pixelate", ["block": 2], to: image)
        // (0+1+2+4+2)/4 = 2 (7/4 = 1.75 → 2), (10+20+30+41+2)/4 = 25 (101/4 = 25.25), (7+8+1)/2 = 8 (15/2 = 7.5 → 8),
        // (9+9+1)/2 = 9, (100+101+1)/2 = 101 (100.5 → 101), 255.
        #expect(out == [2, 2, 25, 25, 8,
                        2, 2, 25, 25, 8,
                        9, 9, 101, 101, 255])
        #expect(try Self.apply("pixelate", ["block": 1], to: image) == pixels)
    }

    @Test("cutout blanks one square of round(size · shorter side) per image, placed by the image's stream")
    func cutout() throws {
        let image = InMemoryImage(width: 10, height: 8, channels: 1, pixels: Array(repeating: 200, count: 80))
        for index in 0..<20 {
            let out = try Self.apply("cutout", ["size": 0.5], to: image, index: index)
            let blanked = out.indices.filter { out[$0] == 0 }
            #expect(blanked.count == 16, "a 4 × 4 square (0.5 · 8)")
            let rows = Set(blanked.map { $0 / 10 }), columns = Set(blanked.map { $0 % 10 })
            #expect(rows.count == 4 && columns.count == 4 && (rows.max() ?? 0) - (rows.min() ?? 0) == 3)
            #expect(out.filter { $0 == 200 }.count == 64)
        }
        let positions = Set(try (0..<20).map { try Self.apply("cutout", to: image, index: $0) })
        #expect(positions.count > 5, "different images get different squares")
        #expect(try Self.apply("cutout", ["size": 0], to: image) == image.pixels)
        #expect(try Self.apply("cutout", ["fill": 255, "size": 1], to: image).filter { $0 == 255 }.count == 64, "an 8 × 8 square")
    }

    @Test("salt_pepper sets about amount/2 of the bytes to 0 and as many to 255, reproducibly per image")
    func saltPepper() throws {
        let image = InMemoryImage(width: 100, height: 100, channels: 1, pixels: Array(repeating: 128, count: 10_000))
        let out = try Self.apply("salt_pepper", ["amount": 0.2], to: image, index: 3)
        let black = out.filter { $0 == 0 }.count, white = out.filter { $0 == 255 }.count
        // Binomial(10 000, 0.1): mean 1000, standard deviation 30; six deviations either side.
        #expect((820...1180).contains(black) && (820...1180).contains(white), "\(black) black, \(white) white")
        #expect(out.filter { $0 == 128 }.count == 10_000 - black - white)
        #expect(try Self.apply("salt_pepper", ["amount": 0.2], to: image, index: 3) == out)
        #expect(try Self.apply("salt_pepper", ["amount": 0.2], to: image, index: 4) != out)
        #expect(try Self.apply("salt_pepper", ["amount": 0], to: image) == image.pixels)
        #expect(try Self.apply("salt_pepper", ["amount": 1], to: image).allSatisfy { $0 == 0 || $0 == 255 })
        #expect(throws: FeatureCacheError.self) { try ImageTransform(ImageTransformSpec(name: "salt_pepper", parameters: ["amount": 1.5])) }
    }
}
