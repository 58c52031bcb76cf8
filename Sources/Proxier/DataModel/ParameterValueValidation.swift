// Checking a value an ACS sends against a parameter's schema (TR-106 §3.2 data types, BBF XML facets).
// Two kinds of failure, as SetParameterValues reports them: the value is not of the parameter's type at all
// (wrong `xsi:type`, not a number, not a date) → 9006; it is of the type but outside the facets (range, size,
// enumeration, pattern, list length, beyond the base type's bounds) → 9007.
import CWMPClient
import Synchronization

extension ParameterSyntax {
    /// The SOAP type the value travels as (`xsi:type`).
    public var valueType: ParameterValueType {
        switch self {
        case .string: .string
        case .int: .int
        case .unsignedInt: .unsignedInt
        case .long: .long
        case .unsignedLong: .unsignedLong
        case .boolean: .boolean
        case .dateTime: .dateTime
        case .base64: .base64
        case .hexBinary: .hexBinary
        }
    }

    /// The value a parameter has when nothing else is known (a new instance with no schema default).
    public var zeroValue: String {
        switch self {
        case .string, .base64, .hexBinary: ""
        case .int, .unsignedInt, .long, .unsignedLong: "0"
        case .boolean: "false"
        case .dateTime: ParameterSchema.unknownTime
        }
    }
}

extension ParameterSchema {
    /// TR-106 "Unknown Time": the dateTime a CPE reports when it does not know the time.
    public static let unknownTime = "0001-01-01T00:00:00Z"

    /// The SOAP type of the parameter's value: lists are strings whatever their item type.
    public var valueType: ParameterValueType { list == nil ? syntax.valueType : .string }

    /// The value a new instance starts with: the schema default or the type's zero value.
    public var initialValue: String { defaultValue ?? (list == nil ? syntax.zeroValue : "") }

    /// Checks `value` (and the `xsi:type` the ACS gave, if any) and returns its canonical lexical form.
    /// Booleans become `true`/`false`, integers lose signs and leading zeros; other values are kept as sent.
    public func validate(_ value: String, declaredType: ParameterValueType?) throws(ProxierError) -> String {
        if let declaredType, declaredType != valueType {
            throw ProxierError(.invalidType, "\(name) is \(valueType.rawValue), not \(declaredType.rawValue)")
        }
        guard let list else { return try syntax.validate(value, name: name) }
        return try validateList(value, facets: list)
    }

    /// Renders a stored or provider-supplied value for a response: booleans in canonical form, the rest as is.
    func canonicalForOutput(_ value: String) -> String {
        guard list == nil, case .boolean = syntax else { return value }
        return (try? ParameterSyntax.boolean.validate(value, name: name)) ?? value
    }

    private func validateList(_ value: String, facets: ListFacets) throws(ProxierError) -> String {
        if !facets.sizes.isEmpty, !facets.sizes.contains(where: { $0.contains(value.count) }) {
            throw ProxierError(.invalidValue, "\(name): list length \(value.count) outside its size")
        }
        // TR-106 §3.2.3: an empty string is the empty list; whitespace around items is not significant.
        let items = value.isEmpty ? [] : value.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.trimmingASCIISpaces())
        }
        if let minItems = facets.minItems, items.count < minItems {
            throw ProxierError(.invalidValue, "\(name): fewer than \(minItems) items")
        }
        if let maxItems = facets.maxItems, items.count > maxItems {
            throw ProxierError(.invalidValue, "\(name): more than \(maxItems) items")
        }
        var canonical: [String] = []
        for item in items { canonical.append(try syntax.validate(item, name: name)) }
        return canonical.joined(separator: ",")
    }
}

extension SizeRange {
    func contains(_ length: Int) -> Bool {
        (minLength.map { length >= $0 } ?? true) && (maxLength.map { length <= $0 } ?? true)
    }
}

extension IntegerRange {
    func contains(_ value: Int128) -> Bool {
        if let minInclusive, value < minInclusive { return false }
        if let maxInclusive, value > maxInclusive { return false }
        if let step, step > 0, (value - (minInclusive ?? 0)) % step != 0 { return false }
        return true
    }
}

extension ParameterSyntax {
    func validate(_ value: String, name: String) throws(ProxierError) -> String {
        switch self {
        case .string(let facets):
            try facets.check(value, name: name)
            return value
        case .int(let ranges):
            return try Self.integer(value, name: name, bounds: Int128(Int32.min)...Int128(Int32.max), ranges: ranges)
        case .unsignedInt(let ranges):
            return try Self.integer(value, name: name, bounds: 0...Int128(UInt32.max), ranges: ranges)
        case .long(let ranges):
            return try Self.integer(value, name: name, bounds: Int128(Int64.min)...Int128(Int64.max), ranges: ranges)
        case .unsignedLong(let ranges):
            return try Self.integer(value, name: name, bounds: 0...Int128(UInt64.max), ranges: ranges)
        case .boolean:
            // TR-106 §3.2: 0/1 and false/true are equivalent; xsd:boolean collapses whitespace.
            switch value.trimmingASCIISpaces() {
            case "1", "true": return "true"
            case "0", "false": return "false"
            default: throw ProxierError(.invalidType, "\(name): \(value.debugDescription) is not a boolean")
            }
        case .dateTime:
            let trimmed = String(value.trimmingASCIISpaces())
            guard XSDDateTime.isValid(trimmed) else {
                throw ProxierError(.invalidType, "\(name): \(value.debugDescription) is not a dateTime")
            }
            return trimmed
        case .base64(let sizes):
            guard let length = Self.base64DecodedLength(value) else {
                throw ProxierError(.invalidType, "\(name): not base64")
            }
            try Self.checkSizes(sizes, length, name: name)
            return value
        case .hexBinary(let sizes):
            let trimmed = value.trimmingASCIISpaces()
            guard trimmed.utf8.count % 2 == 0, trimmed.utf8.allSatisfy(\.isHexDigit) else {
                throw ProxierError(.invalidType, "\(name): not hexBinary")
            }
            try Self.checkSizes(sizes, trimmed.utf8.count / 2, name: name)
            return String(trimmed)
        }
    }

    private static func checkSizes(_ sizes: [SizeRange], _ length: Int, name: String) throws(ProxierError) {
        guard sizes.isEmpty || sizes.contains(where: { $0.contains(length) }) else {
            throw ProxierError(.invalidValue, "\(name): \(length) bytes outside its size")
        }
    }

    private static func integer(_ text: String, name: String, bounds: ClosedRange<Int128>,
                                ranges: [IntegerRange]) throws(ProxierError) -> String {
        let trimmed = text.trimmingASCIISpaces()
        var digits = trimmed.utf8[...]
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw ProxierError(.invalidType, "\(name): \(text.debugDescription) is not an integer")
        }
        // A well-formed integer too large even for Int128 is still an integer, just out of range.
        guard let value = Int128(trimmed), bounds.contains(value) else {
            throw ProxierError(.invalidValue, "\(name): \(text) outside the type's range")
        }
        guard ranges.isEmpty || ranges.contains(where: { $0.contains(value) }) else {
            throw ProxierError(.invalidValue, "\(name): \(text) outside the allowed ranges")
        }
        return String(value)
    }

    /// The number of bytes a base64 text decodes to, or `nil` when it is not base64 (RFC 4648 alphabet, padded).
    static func base64DecodedLength(_ text: String) -> Int? {
        // XML may fold base64 across lines; whitespace carries no data.
        let bytes = text.utf8.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        guard bytes.count % 4 == 0 else { return nil }
        var padding = 0
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "=") {
                guard index >= bytes.count - 2 else { return nil }
                padding += 1
            } else {
                guard padding == 0, byte.isBase64Digit else { return nil }
            }
        }
        return bytes.count / 4 * 3 - padding
    }
}

extension StringFacets {
    func check(_ value: String, name: String) throws(ProxierError) {
        if !sizes.isEmpty, !sizes.contains(where: { $0.contains(value.count) }) {
            throw ProxierError(.invalidValue, "\(name): length \(value.count) outside its size")
        }
        guard !enumerations.isEmpty || !patterns.isEmpty else { return }
        if enumerations.contains(value) { return }
        // An uncompilable pattern cannot be checked, so it accepts: rejecting every value would make the
        // parameter unsettable because of a translation gap, which is worse than a missing check.
        if patterns.contains(where: { XSDPatternCache.shared.matches(pattern: $0, value) ?? true }) { return }
        throw ProxierError(.invalidValue, "\(name): \(value.debugDescription) is not an allowed value")
    }
}

/// Compiled XSD patterns, shared by every data model of the process (the TR-181 schema has a few hundred).
final class XSDPatternCache: Sendable {
    static let shared = XSDPatternCache()

    private enum Entry {
        case compiled(Regex<AnyRegexOutput>)
        case uncompilable
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Whether the whole value matches the pattern (XSD patterns are implicitly anchored at both ends);
    /// `nil` when Swift's Regex cannot compile the pattern.
    func matches(pattern: String, _ value: String) -> Bool? {
        entries.withLock { entries -> Bool? in
            let entry: Entry
            if let cached = entries[pattern] {
                entry = cached
            } else {
                // XSD matches characters, not grapheme clusters; `^` and `$` are plain characters in XSD,
                // which Swift would read as anchors — escape them to keep the XSD meaning.
                if let regex = try? Regex(Self.swiftSyntax(pattern)) {
                    entry = .compiled(regex.matchingSemantics(.unicodeScalar))
                } else {
                    entry = .uncompilable
                }
                entries[pattern] = entry
            }
            switch entry {
            case .compiled(let regex): return (try? regex.wholeMatch(in: value)) != nil
            case .uncompilable: return nil
            }
        }
    }

    /// The patterns seen so far that could not be compiled (and so are not checked).
    var uncompilablePatterns: [String] {
        entries.withLock { entries in
            entries.compactMap { key, entry in
                if case .uncompilable = entry { key } else { nil }
            }.sorted()
        }
    }

    static func swiftSyntax(_ pattern: String) -> String {
        var result = ""
        var escaped = false
        var classJustOpened = false
        for character in pattern {
            let opensClass = !escaped && character == "["
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                result.append(character)
                escaped = true
            } else if character == "$" || character == "^" && !classJustOpened {
                // A caret opening a class `[^…]` negates in both syntaxes; elsewhere both are literal in XSD.
                result += "\\\(character)"
            } else {
                result.append(character)
            }
            classJustOpened = opensClass
        }
        return result
    }
}

/// XSD `dateTime` (`YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`). TR-106 §3.2.1 gives years before 1000 a meaning of
/// their own (time relative to boot, and `0001-01-01T00:00:00Z` for Unknown Time); they are valid values.
enum XSDDateTime {
    static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count else { return nil }
            var value = 0
            for index in range {
                guard b[index] >= 0x30, b[index] <= 0x39 else { return nil }
                value = value * 10 + Int(b[index] - 0x30)
            }
            return value
        }
        func at(_ index: Int, _ character: Character) -> Bool { index < b.count && b[index] == character.asciiValue }
        guard b.count >= 19, let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"),
              let day = number(8..<10), at(10, "T"), let hour = number(11..<13), at(13, ":"),
              let minute = number(14..<16), at(16, ":"), let second = number(17..<19)
        else { return false }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 59 else { return false }
        var index = 19
        if at(index, ".") {
            index += 1
            let start = index
            while index < b.count, b[index] >= 0x30, b[index] <= 0x39 { index += 1 }
            guard index > start else { return false }
        }
        if index == b.count { return true }
        if at(index, "Z") { return index + 1 == b.count }
        guard at(index, "+") || at(index, "-"), b.count == index + 6, let offsetHours = number(index + 1..<index + 3),
              at(index + 3, ":"), let offsetMinutes = number(index + 4..<index + 6) else { return false }
        return offsetHours < 14 && offsetMinutes <= 59 || offsetHours == 14 && offsetMinutes == 0
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x46) || (self >= 0x61 && self <= 0x66)
    }
    var isBase64Digit: Bool {
        (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) || (self >= 0x30 && self <= 0x39)
            || self == UInt8(ascii: "+") || self == UInt8(ascii: "/")
    }
}

extension StringProtocol {
    /// The text without leading and trailing XML whitespace (space, tab, CR, LF).
    func trimmingASCIISpaces() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[start...end]
    }
}
