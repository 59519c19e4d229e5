import Foundation

/// Why a fixture gave nothing to test: a test that loads it fails rather than passing on no cases.
public enum FixtureError: Error, CustomStringConvertible {
    /// The file is missing or unreadable.
    case missing(path: String, reason: String)
    /// The file does not decode as expected.
    case malformed(path: String, reason: String)
    /// The file decodes but `what` holds no case.
    case empty(path: String, what: String)

    public var description: String {
        switch self {
        case .missing(let path, let reason):
            return "fixture \(path) cannot be read (\(reason)); generate it with the script under scripts/ that names it"
        case .malformed(let path, let reason):
            return "fixture \(path) does not decode: \(reason)"
        case .empty(let path, let what):
            return "fixture \(path) holds no \(what): nothing would be tested"
        }
    }
}

/// Loads the fixture files that scripts under `scripts/` write, failing loudly when they load
/// nothing: a parameterised test over `try Fixtures.cases(…)` fails (its arguments throw) instead
/// of running zero cases and passing.
public enum Fixtures {
    /// The repository's root folder.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The tiny random CLIP model that the CLIPEncoder tests, the pipeline tests and the CLI tests share.
    public static let model = repository.appendingPathComponent("Tests/CLIPEncoderTests/Fixtures/model")

    /// Decodes the JSON file `url` as `type`.
    /// - Throws: ``FixtureError/missing(path:reason:)`` or ``FixtureError/malformed(path:reason:)``.
    public static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FixtureError.missing(path: url.path, reason: "\(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw FixtureError.malformed(path: url.path, reason: "\(error)")
        }
    }

    /// `cases`, when it holds at least one.
    /// - Parameters:
    ///   - what: the cases' name in the fixture (`draft_cases`), for the message.
    ///   - url: the fixture they come from.
    /// - Throws: ``FixtureError/empty(path:what:)`` when `cases` is empty.
    public static func cases<C: Collection>(_ cases: C, _ what: String, in url: URL) throws -> C {
        guard !cases.isEmpty else { throw FixtureError.empty(path: url.path, what: what) }
        return cases
    }
}
