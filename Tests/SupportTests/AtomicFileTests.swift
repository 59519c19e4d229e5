import Foundation
import Support
import TestSupport
import Testing

@Suite("Atomic file writes")
struct AtomicFileTests {
    @Test("The file holds the last bytes written and no temporary file is left beside it")
    func replaces() throws {
        let folder = try TemporaryFolder("atomic")
        let url = folder.url.appendingPathComponent("a.txt")
        try AtomicFile.write("one", to: url)
        try AtomicFile.write(Data("two".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["a.txt"])
    }

    @Test("A missing folder is a write failure, a folder in the way a rename failure; each names the file")
    func failures() throws {
        let folder = try TemporaryFolder("atomic")
        let missing = folder.url.appendingPathComponent("absent/a.txt")
        do throws(AtomicFileError) {
            try AtomicFile.write("x", to: missing)
            Issue.record("wrote into a missing folder")
        } catch {
            guard case .writeFailed(let path, _) = error else { Issue.record("\(error)"); return }
            #expect(path == missing.path)
        }
        let blocked = folder.url.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
        do throws(AtomicFileError) {
            try AtomicFile.write("x", to: blocked)
            Issue.record("renamed over a folder")
        } catch {
            guard case .renameFailed(let path, _, _) = error else { Issue.record("\(error)"); return }
            #expect(path == blocked.path)
            #expect(error.description.hasPrefix("\(blocked.path): cannot write: cannot move "), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["blocked"])
    }
}
