import FileIntegrity
import Foundation
import TestSupport
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    /// FIPS 180-4's long example (a million "a"); the short ones are in FeatureCacheTests.
    @Test("The standard's million-'a' vector")
    func millionA() {
        #expect(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Random messages of every length around the block and padding boundaries, against
    /// Python's hashlib (`scripts/make_model_hub_fixtures.py`); each also fed in uneven pieces.
    @Test("Random messages agree with Python's hashlib, whole and in pieces")
    func hashlibVectors() throws {
        let url = Fixtures.repository.appendingPathComponent("Tests/ModelHubTests/Fixtures/sha256_vectors.json")
        let vectors = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: String]]
        #expect(vectors.count >= 130)
        for vector in vectors {
            let message = bytes(hex: vector["hex"]!)
            let expected = vector["sha256"]!
            #expect(SHA256.hex(message) == expected, "length \(message.count)")
            var pieces = SHA256()
            var index = 0, step = 1
            while index < message.count {
                let end = min(index + step, message.count)
                pieces.update(Array(message[index..<end]))
                index = end
                step = step % 67 + 7
            }
            #expect(pieces.finalizeHex() == expected, "length \(message.count), in pieces")
        }
    }

    private func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }
}
