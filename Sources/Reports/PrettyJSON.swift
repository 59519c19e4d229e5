/// Re-indents compact JSON for reading: objects and arrays that hold containers are spread one
/// member per line (two-space indent), while arrays of plain values (numbers, strings, booleans,
/// null) stay on one line, so that a 1000-class confusion matrix takes 1000 lines rather than a
/// million. The text of every value is copied unchanged.
enum PrettyJSON {
    /// The re-indented form of `compact` (UTF-8 JSON without insignificant whitespace, as
    /// `JSONEncoder` writes it without `.prettyPrinted`), ending in a newline.
    static func format(_ compact: [UInt8]) -> [UInt8] {
        let expanded = expandedContainers(compact)
        var output: [UInt8] = []
        output.reserveCapacity(compact.count + compact.count / 4)
        var stack: [Bool] = []  // per open container: spread over lines?
        var inString = false, escaped = false
        func newline(_ depth: Int) {
            output.append(UInt8(ascii: "\n"))
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
        }
        var index = 0
        while index < compact.count {
            let byte = compact[index]
            defer { index += 1 }
            if inString {
                output.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                output.append(byte)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                output.append(byte)
                let isEmpty = index + 1 < compact.count && (compact[index + 1] == UInt8(ascii: "}") || compact[index + 1] == UInt8(ascii: "]"))
                let spread = expanded.contains(index) && !isEmpty
                stack.append(spread)
                if spread { newline(stack.count) }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let spread = stack.popLast() ?? false
                if spread { newline(stack.count) }
                output.append(byte)
            case UInt8(ascii: ","):
                output.append(byte)
                if stack.last == true { newline(stack.count) } else { output.append(UInt8(ascii: " ")) }
            case UInt8(ascii: ":"):
                output.append(byte)
                output.append(UInt8(ascii: " "))
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\n"))
        return output
    }

    /// Offsets of the opening brackets to spread over lines: every object, and every array
    /// that holds an object or an array.
    private static func expandedContainers(_ bytes: [UInt8]) -> Set<Int> {
        var result = Set<Int>()
        var open: [Int] = []
        var inString = false, escaped = false
        for (offset, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if let parent = open.last { result.insert(parent) }
                if byte == UInt8(ascii: "{") { result.insert(offset) }
                open.append(offset)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = open.popLast()
            default:
                break
            }
        }
        return result
    }
}
