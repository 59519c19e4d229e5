import Foundation
import Support
import TestSupport
import Testing

@Suite("gzip inflation")
struct GzipTests {
    @Test("A member is followed by the end of the input or another member; anything else is refused at its offset")
    func whatFollowsAMember() throws {
        let payload = Array("hello, gzip\n".utf8)
        let member = try GzipCompression.compress(payload)
        #expect(try Gzip.decompress(member) == Data(payload))
        #expect(try Gzip.decompress(member + member) == Data(payload + payload))
        #expect(throws: GzipError.trailingBytes(offset: member.count)) { try Gzip.decompress(member + Data([0, 0, 0, 0])) }
        #expect(throws: GzipError.trailingBytes(offset: member.count)) { try Gzip.decompress(member + Data("x".utf8)) }
        #expect(throws: GzipError.trailingBytes(offset: member.count)) { try Gzip.decompress(member + Data([0x1f])) }
        #expect(throws: GzipError.truncated(inputBytes: member.count - 4)) { try Gzip.decompress(member.prefix(member.count - 4)) }
    }

    @Test("The ceiling a caller derives from the first bytes stops inflation there")
    func ceiling() throws {
        let member = try GzipCompression.compress([UInt8](repeating: 7, count: 4096))
        #expect(throws: GzipError.tooLarge(limit: 5)) {
            try Gzip.inflate(member, maximumBytes: 1 << 20, ceiling: { $0.isEmpty ? nil : 5 })
        }
        #expect(try Gzip.inflate(member, maximumBytes: 1 << 20, ceiling: { _ in 4096 }).count == 4096)
        #expect(throws: GzipError.tooLarge(limit: 100)) { try Gzip.inflate(member, maximumBytes: 100, ceiling: { _ in 4096 }) }
    }
}
