// Parameter and object paths as TR-069 names them (§A.2.2.1, TR-106 §3.1): dot-separated names, instance
// numbers, Alias-based addressing (`[alias]`, Amd 4 §3.6.1) and instance wildcards (`*`, Amd 6).
// A path is only syntax here; whether it names anything is decided against the schema and the instances.

/// A parsed parameter path (`Device.DeviceInfo.UpTime`), partial path (`Device.IP.Interface.1.`) or the empty path.
public struct DataModelPath: Hashable, Sendable, CustomStringConvertible {
    public enum Segment: Hashable, Sendable {
        /// An object or parameter name (`Interface`, `X_ACME-COM_Foo`).
        case name(String)
        /// An instance number, ≥ 1.
        case instance(UInt32)
        /// An instance addressed by its Alias value (`[wan]`).
        case alias(String)
        /// Every instance of the table (`*`).
        case instanceWildcard
    }

    /// TR-069 carries names as `string(256)`.
    public static let maximumLength = 256

    public var segments: [Segment]
    /// The path ends with a dot (or is empty): it names an object and everything below it.
    public var isPartial: Bool

    /// The empty path, which names the root of the data model.
    public static let root = DataModelPath(segments: [], isPartial: true)

    public init(segments: [Segment], isPartial: Bool) {
        self.segments = segments
        self.isPartial = isPartial || segments.isEmpty
    }

    /// Parses a name as an ACS sends it. Anything that is not a syntactically valid path is `.invalidPath` (9005).
    public init(parsing text: String) throws(ProxierError) {
        if text.isEmpty {
            self = .root
            return
        }
        // Counted in Unicode scalars so that a long run of combining characters cannot pass as one character.
        guard text.unicodeScalars.count <= Self.maximumLength else {
            throw ProxierError(.invalidPath, "path longer than \(Self.maximumLength) characters")
        }
        var parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let partial = parts.last == ""
        if partial { parts.removeLast() }
        var segments: [Segment] = []
        segments.reserveCapacity(parts.count)
        for part in parts {
            segments.append(try Self.segment(part, isFirst: segments.isEmpty, in: text))
        }
        self.init(segments: segments, isPartial: partial)
    }

    private static func segment(_ part: Substring, isFirst: Bool, in text: String) throws(ProxierError) -> Segment {
        guard let first = part.utf8.first else {
            throw ProxierError(.invalidPath, "empty path segment in \(text.debugDescription)")
        }
        if isFirst {
            // A data model starts with a root object name (`Device`, `InternetGatewayDevice`), never an instance.
            guard isNameStart(first) else { throw ProxierError(.invalidPath, "path must start with an object name") }
        }
        if part == "*" { return .instanceWildcard }
        if first == UInt8(ascii: "[") {
            guard part.utf8.last == UInt8(ascii: "]"), part.utf8.count > 2 else {
                throw ProxierError(.invalidPath, "malformed alias segment \(String(part).debugDescription)")
            }
            let alias = part.dropFirst().dropLast()
            guard !alias.contains("["), !alias.contains("]"), alias.unicodeScalars.count <= aliasMaximumLength else {
                throw ProxierError(.invalidPath, "malformed alias segment \(String(part).debugDescription)")
            }
            return .alias(String(alias))
        }
        if part.utf8.allSatisfy(isDigit) {
            // Canonical decimal only: `01` and `0` name no instance, and numbers beyond unsignedInt cannot exist.
            guard first != UInt8(ascii: "0"), let number = UInt32(part) else {
                throw ProxierError(.invalidPath, "invalid instance number \(String(part).debugDescription)")
            }
            return .instance(number)
        }
        guard isNameStart(first), part.utf8.allSatisfy(isNameCharacter) else {
            throw ProxierError(.invalidPath, "invalid name segment \(String(part).debugDescription)")
        }
        return .name(String(part))
    }

    /// TR-181 `_AliasCWMP` is `string(64)`.
    static let aliasMaximumLength = 64

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
    // TR-106 names: a letter or underscore first, then letters, digits, `_` and `-` (vendor prefixes `X_ACME-COM_`).
    private static func isNameStart(_ byte: UInt8) -> Bool { isLetter(byte) || byte == UInt8(ascii: "_") }
    private static func isNameCharacter(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    public var isRoot: Bool { segments.isEmpty }

    /// The last segment's name, when it is a name (a parameter's own name for a parameter path).
    public var lastName: String? {
        if case .name(let name) = segments.last { name } else { nil }
    }

    public var description: String { Self.render(segments, partial: isPartial, asTemplate: false) }

    /// The schema template of this path: every instance, alias or wildcard becomes `{i}`
    /// (`Device.IP.Interface.3.IPv4Address.1.Enable` → `Device.IP.Interface.{i}.IPv4Address.{i}.Enable`).
    public var template: String { Self.render(segments, partial: isPartial, asTemplate: true) }

    /// Whether any segment addresses an instance by alias or wildcard rather than by number.
    public var isInstanceNumberForm: Bool {
        segments.allSatisfy {
            switch $0 {
            case .name, .instance: true
            case .alias, .instanceWildcard: false
            }
        }
    }

    private static func render(_ segments: [Segment], partial: Bool, asTemplate: Bool) -> String {
        var text = ""
        for (index, segment) in segments.enumerated() {
            if index > 0 { text += "." }
            switch segment {
            case .name(let name): text += name
            case .instance(let number): text += asTemplate ? "{i}" : String(number)
            case .alias(let alias): text += asTemplate ? "{i}" : "[\(alias)]"
            case .instanceWildcard: text += asTemplate ? "{i}" : "*"
            }
        }
        if partial && !segments.isEmpty { text += "." }
        return text
    }

    public func appending(_ segment: Segment, partial: Bool) -> DataModelPath {
        DataModelPath(segments: segments + [segment], isPartial: partial)
    }
}
