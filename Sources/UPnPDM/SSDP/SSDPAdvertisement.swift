// What discovery needs from an SSDP NOTIFY or search response (UDA 1.1 §1.2, §1.3.3), read leniently but never
// ambiguously: two different USNs, NTs or BOOTIDs in one datagram are refused rather than guessed between.

/// A Unique Service Name: `uuid:U`, `uuid:U::upnp:rootdevice`, `uuid:U::urn:…:device:T:v` or `uuid:U::urn:…:service:T:v`.
public struct SSDPUSN: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// `uuid:U`
        case device
        /// `uuid:U::upnp:rootdevice`
        case rootDevice
        /// `uuid:U::urn:domain:device:T:v`
        case deviceType(String)
        /// `uuid:U::urn:domain:service:T:v`
        case serviceType(String)
    }

    /// UDA limits a UUID to 128 characters; TR-181's UUID parameter takes 36, the RFC 4122 form.
    public static let maximumUUIDLength = 128

    /// The USN as received.
    public var rawValue: String
    /// The UUID, without `uuid:`.
    public var uuid: String
    public var kind: Kind

    public init(parsing text: String) throws(UPnPDMError) {
        guard text.utf8.count <= 256 else { throw UPnPDMError(.malformedSSDPMessage, "USN longer than 256 characters") }
        let lowered = text.lowercased()
        guard lowered.hasPrefix("uuid:") else { throw UPnPDMError(.malformedSSDPMessage, "USN does not start with uuid:") }
        let rest = text.dropFirst(5)
        let uuid: Substring
        let suffix: Substring?
        if let separator = rest.firstRange(of: "::") {
            uuid = rest[..<separator.lowerBound]
            suffix = rest[separator.upperBound...]
        } else {
            uuid = rest
            suffix = nil
        }
        guard !uuid.isEmpty, uuid.utf8.count <= Self.maximumUUIDLength,
              uuid.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != ":" }) else {
            throw UPnPDMError(.malformedSSDPMessage, "USN has no valid UUID")
        }
        self.rawValue = text
        self.uuid = String(uuid)
        guard let suffix else {
            kind = .device
            return
        }
        if suffix.lowercased() == "upnp:rootdevice" {
            kind = .rootDevice
        } else if suffix.lowercased().hasPrefix("urn:"), suffix.contains(":device:") {
            kind = .deviceType(String(suffix))
        } else if suffix.lowercased().hasPrefix("urn:"), suffix.contains(":service:") {
            kind = .serviceType(String(suffix))
        } else {
            throw UPnPDMError(.malformedSSDPMessage, "USN suffix is neither upnp:rootdevice nor a device or service type")
        }
    }

    public var description: String { rawValue }
}

/// One advertisement: an `ssdp:alive`, `ssdp:byebye` or `ssdp:update` NOTIFY, or a search response.
public struct SSDPAdvertisement: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case alive
        case byebye
        case update
        case searchResponse
    }

    /// The lease when CACHE-CONTROL is missing or unreadable (UDA's recommended minimum is 1800 s).
    public static let defaultMaxAge: UInt32 = 1800
    /// Leases are capped at one day, so a hostile max-age cannot pin a row forever.
    public static let maximumMaxAge: UInt32 = 86_400

    public var kind: Kind
    public var usn: SSDPUSN
    /// `CACHE-CONTROL: max-age`, in seconds (byebye: 0).
    public var maxAge: UInt32
    public var location: String?
    public var server: String?
    public var bootID: UInt32?
    public var configID: UInt32?
    /// `NEXTBOOTID.UPNP.ORG` of an `ssdp:update`.
    public var nextBootID: UInt32?

    /// Reads a NOTIFY or a 200 search response. An M-SEARCH, a non-200 response or an unknown NTS is refused.
    public init(_ message: SSDPMessage) throws(UPnPDMError) {
        let headers = message.headers
        switch message.startLine {
        case .search:
            throw UPnPDMError(.malformedSSDPMessage, "an M-SEARCH is not an advertisement")
        case .response(let statusCode):
            guard statusCode == 200 else {
                throw UPnPDMError(.malformedSSDPMessage, "search response with status \(statusCode)")
            }
            kind = .searchResponse
        case .notify:
            switch try Self.single("NTS", headers)?.lowercased() {
            case "ssdp:alive": kind = .alive
            case "ssdp:byebye": kind = .byebye
            case "ssdp:update": kind = .update
            default: throw UPnPDMError(.malformedSSDPMessage, "NOTIFY without a known NTS")
            }
        }
        guard let usnText = try Self.single("USN", headers) else {
            throw UPnPDMError(.malformedSSDPMessage, "advertisement without USN")
        }
        usn = try SSDPUSN(parsing: usnText)
        location = try Self.single("LOCATION", headers).flatMap { $0.isEmpty ? nil : $0 }
        // TR-181 sizes: a URL of at most 2048 characters (a longer one is no usable description URL), SERVER at most
        // 256 (informational, so cut rather than refused).
        if let location, location.count > 2048 { throw UPnPDMError(.malformedSSDPMessage, "LOCATION longer than 2048 characters") }
        server = try Self.single("SERVER", headers).map { String($0.prefix(256)) }
        bootID = try Self.number("BOOTID.UPNP.ORG", headers)
        configID = try Self.number("CONFIGID.UPNP.ORG", headers)
        nextBootID = try Self.number("NEXTBOOTID.UPNP.ORG", headers)
        if kind == .byebye {
            maxAge = 0
        } else {
            maxAge = min(Self.maxAge(try Self.single("CACHE-CONTROL", headers)) ?? Self.defaultMaxAge, Self.maximumMaxAge)
            // Without a LOCATION nobody can use the device: UDA requires it in alive, update and responses.
            guard location != nil else { throw UPnPDMError(.malformedSSDPMessage, "advertisement without LOCATION") }
        }
    }

    /// The value of a header that must not appear twice with different values.
    static func single(_ name: String, _ headers: SSDPHeaders) throws(UPnPDMError) -> String? {
        let values = headers.values(of: name)
        guard let first = values.first else { return nil }
        guard values.dropFirst().allSatisfy({ $0 == first }) else {
            throw UPnPDMError(.malformedSSDPMessage, "conflicting duplicated \(name) headers")
        }
        return first
    }

    /// A 31-bit non-negative decimal (BOOTID, CONFIGID: UDA 1.1 §1.2.2).
    static func number(_ name: String, _ headers: SSDPHeaders) throws(UPnPDMError) -> UInt32? {
        guard let text = try single(name, headers) else { return nil }
        guard let value = UInt32(text), value <= UInt32(Int32.max) else {
            throw UPnPDMError(.malformedSSDPMessage, "\(name) is not a 31-bit number")
        }
        return value
    }

    /// `max-age=N` among the CACHE-CONTROL directives (`no-cache="Ext", max-age = 1800` is accepted).
    static func maxAge(_ cacheControl: String?) -> UInt32? {
        guard let cacheControl else { return nil }
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { SSDPMessage.trimmed($0) }
            guard parts.count == 2, parts[0].lowercased() == "max-age" else { continue }
            let digits = parts[1].filter { $0 != "\"" }
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
            // A huge number is a long lease, capped by the caller, not an error.
            return UInt32(digits) ?? UInt32.max
        }
        return nil
    }
}
