// What a NOTIFY carries: the `e:propertyset` body (UDA 1.1 §4.3) read with libxml2 through UPnPXML (no DTD, size,
// depth and element caps), and the DM services' evented variables as typed events.

/// One evented variable and its (unescaped) value, in document order.
public struct GENAProperty: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A NOTIFY accepted for a subscription.
public struct GENAEvent: Hashable, Sendable {
    public var sid: String
    public var seq: UInt32
    public var properties: [GENAProperty]

    public init(sid: String, seq: UInt32, properties: [GENAProperty]) {
        self.sid = sid
        self.seq = seq
        self.properties = properties
    }

    public static let namespace = "urn:schemas-upnp-org:event-1-0"

    /// Reads `<e:propertyset><e:property><Var>value</Var></e:property>…</e:propertyset>`. Throws `.malformedEvent`
    /// for another root, and UPnPXML's errors (`.malformedXML`, `.forbiddenDocumentType`, `.documentTooLarge`,
    /// `.documentTooDeep`).
    public static func parsePropertySet(_ body: [UInt8], maximumBytes: Int = 256 * 1024) throws(UPnPDMError) -> [GENAProperty] {
        let root = try UPnPXML.parse(body, limits: .init(maximumBytes: maximumBytes, maximumDepth: 8, maximumElements: 10_000),
                                     what: "GENA property set")
        guard root.localName == "propertyset" else {
            throw UPnPDMError(.malformedEvent, "the NOTIFY body is <\(root.localName)>, not <e:propertyset>")
        }
        var properties: [GENAProperty] = []
        for property in root.children where property.localName == "property" {
            // Each e:property holds one variable (some stacks put several in one: take them all).
            for variable in property.children {
                properties.append(GENAProperty(name: variable.localName, value: variable.text))
            }
        }
        return properties
    }
}

/// An evented variable of CMS:2, BMS:2 or SMS:2, typed.
public enum DMServiceEvent: Hashable, Sendable {
    /// CMS `ConfigurationUpdate`: the new configuration version, its time and (when the device lists them) the
    /// changed parameters with EventOnChange set.
    case configurationUpdate(DMConfigurationUpdate)
    /// CMS `SupportedParametersUpdate` / `AttributeValuesUpdate` (`<counter>,<time>`), as sent.
    case supportedParametersUpdate(String)
    case attributeValuesUpdate(String)
    /// BMS `TestIDs` / `ActiveTestIDs`.
    case testIDs([UInt32])
    case activeTestIDs([UInt32])
    /// BMS `DeviceStatus`.
    case deviceStatus(String)
    /// SMS `OperationIDs` (the operations not yet finished).
    case operationIDs([UInt32])
    /// Any other variable (SMS DUIDs/EUIDs, SequenceMode, vendor variables), untyped.
    case other(name: String, value: String)

    /// Types one property. A value that does not read as its variable's type stays `.other` rather than being
    /// dropped: a sloppy device's event still reaches the subscriber.
    public init(_ property: GENAProperty) {
        switch property.name {
        case "ConfigurationUpdate":
            if let update = try? CMSDocuments.parseConfigurationUpdate(property.value) {
                self = .configurationUpdate(update)
                return
            }
        case "SupportedParametersUpdate": self = .supportedParametersUpdate(DMXML.trimmed(property.value)); return
        case "AttributeValuesUpdate": self = .attributeValuesUpdate(DMXML.trimmed(property.value)); return
        case "DeviceStatus": self = .deviceStatus(DMXML.trimmed(property.value)); return
        case "TestIDs", "ActiveTestIDs", "OperationIDs":
            if let ids = Self.idList(property.value) {
                switch property.name {
                case "TestIDs": self = .testIDs(ids)
                case "ActiveTestIDs": self = .activeTestIDs(ids)
                default: self = .operationIDs(ids)
                }
                return
            }
        default:
            break
        }
        self = .other(name: property.name, value: property.value)
    }

    /// A CSV list of ui4 (`""` is the empty list).
    static func idList(_ text: String) -> [UInt32]? {
        let trimmed = DMXML.trimmed(text)
        if trimmed.isEmpty { return [] }
        var ids: [UInt32] = []
        for field in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = UInt32(DMXML.trimmed(String(field))) else { return nil }
            ids.append(id)
        }
        return ids
    }
}
