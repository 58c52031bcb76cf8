// Conversions between SNMP values and TR-181 lexical values, both ways (the reverse for writable parameters).
// Pure functions: the one stateful conversion, Counter32 → 64-bit accumulation, lives in SNMPCounterAccumulator and
// is applied by the provider before `convert` sees the value.

/// How an SNMP value becomes a TR-181 value (docs/snmp-profiles.md, "Conversions").
public enum SNMPConversion: Hashable, Sendable {
    /// Numbers in decimal, OCTET STRING as `displayString`, OIDs dotted, IpAddress dotted, Opaque as hex.
    case auto
    /// UTF-8 text; trailing/leading NULs and white space trimmed, invalid UTF-8 and control characters replaced by
    /// U+FFFD (they cannot travel in XML), cut to `maxLength` characters if given.
    case displayString(maxLength: Int?)
    /// `aa:bb:cc:dd:ee:ff` (lower case; empty for a zero-length string).
    case mac
    /// Lower-case hex digits, no separators.
    case hex
    /// TimeTicks (1/100 s) → whole seconds.
    case timeTicksToSeconds
    /// Counter64 as is; Counter32 accumulated to 64 bits across wraps (the provider does the accumulation).
    case counter64
    /// Integer arithmetic: value × multiply / divide (ifSpeed bit/s → Mbit/s: divide 1000000).
    case scale(multiply: Int64, divide: Int64)
    /// INTEGER enumeration → string; `set` (or the inverse of `values`) for SET.
    case enumeration(values: [Int64: String], default: String?, set: [String: Int64]?)
    /// TruthValue (RFC 2579): true(1) / false(2) ↔ boolean.
    case truthValue
    /// IpAddress, or an InetAddress OCTET STRING of 4 or 16 bytes → dotted quad / RFC 5952 text.
    case ipAddress
    /// The row's index (not an object's value): `3`, or dotted for multi-arc indexes.
    case index

    /// The SNMP syntax a SET of this conversion's reverse produces, when the conversion implies one.
    public var impliedSyntax: SNMPSyntax? {
        switch self {
        case .displayString, .mac, .hex: .octetString
        case .timeTicksToSeconds: .timeTicks
        case .enumeration, .truthValue: .integer
        case .ipAddress: .ipAddress
        case .counter64: .counter64
        case .auto, .scale, .index: nil
        }
    }

    // MARK: SNMP → TR-181

    /// Converts one value; throws `.invalidValue` when the SNMP type does not fit the conversion.
    public func convert(_ value: SNMPValue) throws(SNMPBridgeError) -> String {
        switch self {
        case .auto:
            switch value {
            case .octetString(let bytes): return Self.displayString(bytes, maxLength: nil)
            case .objectIdentifier(let oid): return oid.description
            case .ipAddress(let bytes): return Self.ipText(bytes) ?? Self.hexText(bytes)
            case .opaque(let bytes): return Self.hexText(bytes)
            case .null: return ""
            default:
                guard let number = value.numericValue else { throw mismatch(value) }
                return String(number)
            }
        case .displayString(let maxLength):
            guard case .octetString(let bytes) = value else { throw mismatch(value) }
            return Self.displayString(bytes, maxLength: maxLength)
        case .mac:
            guard case .octetString(let bytes) = value else { throw mismatch(value) }
            return Self.macText(bytes)
        case .hex:
            switch value {
            case .octetString(let bytes), .opaque(let bytes), .ipAddress(let bytes): return Self.hexText(bytes)
            default: throw mismatch(value)
            }
        case .timeTicksToSeconds:
            guard case .timeTicks(let ticks) = value else { throw mismatch(value) }
            return String(ticks / 100)
        case .counter64:
            switch value {
            case .counter64(let number): return String(number)
            case .counter32(let number): return String(number)
            default: throw mismatch(value)
            }
        case .scale(let multiply, let divide):
            guard let number = value.numericValue, divide != 0 else { throw mismatch(value) }
            return String(number * Int128(multiply) / Int128(divide))
        case .enumeration(let values, let fallback, _):
            guard case .integer(let number) = value else { throw mismatch(value) }
            return values[Int64(number)] ?? fallback ?? String(number)
        case .truthValue:
            guard case .integer(let number) = value else { throw mismatch(value) }
            switch number {
            case 1: return "true"
            case 2: return "false"
            default: throw SNMPBridgeError(.invalidValue, "TruthValue \(number) is neither true(1) nor false(2)")
            }
        case .ipAddress:
            switch value {
            case .ipAddress(let bytes), .octetString(let bytes):
                guard let text = Self.ipText(bytes) else {
                    throw SNMPBridgeError(.invalidValue, "\(bytes.count)-byte value is no IPv4 or IPv6 address")
                }
                return text
            default: throw mismatch(value)
            }
        case .index:
            throw SNMPBridgeError(.invalidProfile, "the index conversion applies to row indexes, not values")
        }
    }

    private func mismatch(_ value: SNMPValue) -> SNMPBridgeError {
        SNMPBridgeError(.invalidValue, "conversion \(self) cannot read \(value.typeName)")
    }

    // MARK: TR-181 → SNMP (SET)

    /// The varbind value for `text` (a validated, canonical TR-181 value). Throws `.invalidType` when the column's
    /// syntax cannot carry the value at all and `.invalidValue` when the value is out of its range.
    public func snmpValue(from text: String, syntax: SNMPSyntax) throws(SNMPBridgeError) -> SNMPValue {
        switch self {
        case .enumeration(let values, _, let set):
            let table = set ?? Self.inverse(values)
            guard let number = table[text], let value = Int32(exactly: number) else {
                throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not one of \(table.keys.sorted())")
            }
            return .integer(value)
        case .truthValue:
            switch text {
            case "true", "1": return .integer(1)
            case "false", "0": return .integer(2)
            default: throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not a boolean")
            }
        case .mac:
            guard let bytes = Self.parseMAC(text) else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not a MAC address") }
            return .octetString(bytes)
        case .hex:
            guard let bytes = Self.parseHex(text) else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not hex") }
            return .octetString(bytes)
        case .timeTicksToSeconds:
            guard let seconds = UInt64(text), seconds * 100 <= UInt64(UInt32.max) else {
                throw SNMPBridgeError(.invalidValue, "\"\(text)\" seconds do not fit TimeTicks")
            }
            return try Self.value(Int128(seconds * 100), syntax: syntax)
        case .scale(let multiply, let divide):
            guard let number = Int128(text), multiply != 0 else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not a number") }
            let scaled = number * Int128(divide)
            guard scaled % Int128(multiply) == 0 else {
                throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not a multiple of the unit")
            }
            return try Self.value(scaled / Int128(multiply), syntax: syntax)
        case .ipAddress:
            guard let bytes = Self.parseIPv4(text) else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not an IPv4 address") }
            return syntax == .octetString ? .octetString(bytes) : .ipAddress(bytes)
        case .auto, .displayString, .counter64, .index:
            switch syntax {
            case .octetString:
                if case .displayString(let maxLength?) = self, text.count > maxLength {
                    throw SNMPBridgeError(.invalidValue, "longer than \(maxLength) characters")
                }
                return .octetString(Array(text.utf8))
            case .objectIdentifier:
                guard let oid = SNMPObjectIdentifier(text) else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not an OID") }
                return .objectIdentifier(oid)
            case .ipAddress:
                guard let bytes = Self.parseIPv4(text) else { throw SNMPBridgeError(.invalidValue, "\"\(text)\" is not an IPv4 address") }
                return .ipAddress(bytes)
            default:
                guard let number = Int128(text) else { throw SNMPBridgeError(.invalidType, "\"\(text)\" is not a number") }
                return try Self.value(number, syntax: syntax)
            }
        }
    }

    /// A number as a value of `syntax`, range-checked.
    static func value(_ number: Int128, syntax: SNMPSyntax) throws(SNMPBridgeError) -> SNMPValue {
        func range<T: FixedWidthInteger>(_: T.Type) throws(SNMPBridgeError) -> T {
            guard let value = T(exactly: number) else { throw SNMPBridgeError(.invalidValue, "\(number) is out of range for \(syntax.rawValue)") }
            return value
        }
        switch syntax {
        case .integer: return .integer(try range(Int32.self))
        case .unsigned, .gauge: return .gauge32(try range(UInt32.self))
        case .timeTicks: return .timeTicks(try range(UInt32.self))
        case .counter32: return .counter32(try range(UInt32.self))
        case .counter64: return .counter64(try range(UInt64.self))
        case .octetString, .objectIdentifier, .ipAddress:
            throw SNMPBridgeError(.invalidType, "a number cannot be written to a \(syntax.rawValue) object")
        }
    }

    /// The inverse of an enumeration map; where several numbers give the same text, the lowest is used.
    static func inverse(_ values: [Int64: String]) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for (number, text) in values.sorted(by: { $0.key < $1.key }) where result[text] == nil { result[text] = number }
        return result
    }

    // MARK: Text helpers

    static func displayString(_ bytes: [UInt8], maxLength: Int?) -> String {
        var slice = bytes[...]
        // Agents pad fixed-size buffers with NULs and spaces.
        while let last = slice.last, last == 0 || last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D { slice = slice.dropLast() }
        while let first = slice.first, first == 0 || first == 0x20 || first == 0x09 || first == 0x0A || first == 0x0D { slice = slice.dropFirst() }
        // Invalid UTF-8 becomes U+FFFD; so do C0 controls other than tab/LF/CR, which XML 1.0 cannot carry.
        var scalars = String.UnicodeScalarView()
        for scalar in String(decoding: slice, as: UTF8.self).unicodeScalars {
            let v = scalar.value
            if (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || v == 0x7F || v == 0xFFFE || v == 0xFFFF {
                scalars.append("\u{FFFD}")
            } else {
                scalars.append(scalar)
            }
        }
        let text = String(scalars)
        if let maxLength, text.count > maxLength { return String(text.prefix(maxLength)) }
        return text
    }

    static let hexDigits = Array("0123456789abcdef")

    static func hexText(_ bytes: [UInt8]) -> String {
        String(bytes.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0x0F)]] })
    }

    static func macText(_ bytes: [UInt8]) -> String {
        bytes.map { String([hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0x0F)]]) }.joined(separator: ":")
    }

    static func parseHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func parseMAC(_ text: String) -> [UInt8]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.utf8.count == 2, let byte = parseHex(String(part))?.first else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// Dotted quad for 4 bytes, RFC 5952 text for 16, nil otherwise.
    static func ipText(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return nil }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        // The longest run of two or more zero groups becomes "::" (the first such run on ties).
        var bestStart = -1, bestLength = 0, start = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if start < 0 { start = i }
            } else if start >= 0 {
                if i - start > bestLength && i - start >= 2 { bestStart = start; bestLength = i - start }
                start = -1
            }
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

extension SNMPValue {
    /// The value of any integer-like type (INTEGER, Counter32/64, Gauge32, TimeTicks).
    public var numericValue: Int128? {
        switch self {
        case .integer(let v): Int128(v)
        case .counter32(let v), .gauge32(let v), .timeTicks(let v): Int128(v)
        case .counter64(let v): Int128(v)
        default: nil
        }
    }

    /// Whether the agent reported that the object or instance does not exist.
    public var isException: Bool {
        switch self {
        case .noSuchObject, .noSuchInstance, .endOfMibView: true
        default: false
        }
    }

    var typeName: String {
        switch self {
        case .integer: "INTEGER"
        case .octetString: "OCTET STRING"
        case .objectIdentifier: "OBJECT IDENTIFIER"
        case .ipAddress: "IpAddress"
        case .counter32: "Counter32"
        case .gauge32: "Gauge32"
        case .timeTicks: "TimeTicks"
        case .opaque: "Opaque"
        case .counter64: "Counter64"
        case .null: "NULL"
        case .noSuchObject: "noSuchObject"
        case .noSuchInstance: "noSuchInstance"
        case .endOfMibView: "endOfMibView"
        }
    }
}

// MARK: JSON form

extension SNMPConversion: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case type, maxLength, multiply, divide, values, `default`, set }

    /// A bare string (`"mac"`) or an object with `type` and the conversion's own keys.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            self = try Self.named(name, decoder: decoder)
            return
        }
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "displayString":
            self = .displayString(maxLength: try c.decodeIfPresent(Int.self, forKey: .maxLength))
        case "scale":
            let multiply = try c.decodeIfPresent(Int64.self, forKey: .multiply) ?? 1
            let divide = try c.decodeIfPresent(Int64.self, forKey: .divide) ?? 1
            guard multiply != 0, divide != 0 else {
                throw DecodingError.dataCorruptedError(forKey: .divide, in: c, debugDescription: "multiply and divide must not be 0")
            }
            self = .scale(multiply: multiply, divide: divide)
        case "enumeration":
            let raw = try c.decode([String: String].self, forKey: .values)
            var values: [Int64: String] = [:]
            for (key, text) in raw {
                guard let number = Int64(key) else {
                    throw DecodingError.dataCorruptedError(forKey: .values, in: c, debugDescription: "enumeration key \"\(key)\" is not an integer")
                }
                values[number] = text
            }
            self = .enumeration(values: values, default: try c.decodeIfPresent(String.self, forKey: .default),
                                set: try c.decodeIfPresent([String: Int64].self, forKey: .set))
        default:
            self = try Self.named(type, decoder: decoder)
        }
    }

    private static func named(_ name: String, decoder: any Decoder) throws -> SNMPConversion {
        switch name {
        case "auto": return .auto
        case "displayString": return .displayString(maxLength: nil)
        case "mac": return .mac
        case "hex": return .hex
        case "timeTicksToSeconds": return .timeTicksToSeconds
        case "counter64": return .counter64
        case "truthValue": return .truthValue
        case "ipAddress": return .ipAddress
        case "index": return .index
        case "bitsPerSecondToMbps": return .scale(multiply: 1, divide: 1_000_000)
        default:
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: "unknown conversion \"\(name)\""))
        }
    }
}
