// The structures that RPC arguments are made of (cwmp-1-x.xsd), shared by the SOAP codec and the data-model
// engine in Proxier. Values travel as their lexical form plus the xsd type the ACS sees (`xsi:type`):
// the data model validates and converts them, the codec only carries them.

/// The SOAP value type of a parameter: the TR-106 base types as they appear in `xsi:type="xsd:…"`.
/// TR-106 named types (Alias, IPAddress, MACAddress, StatsCounter64, …) are sent as their base type.
public enum ParameterValueType: String, Hashable, Sendable, CaseIterable {
    case string
    case int
    case unsignedInt
    case long
    case unsignedLong
    case boolean
    case dateTime
    case base64
    case hexBinary
}

/// `ParameterValueStruct`: a parameter's full name, its value in lexical form, and its type.
public struct ParameterValueStruct: Hashable, Sendable {
    public var name: String
    public var value: String
    /// The `xsi:type` given (requests) or to send (responses); `nil` when an ACS omitted it.
    public var type: ParameterValueType?

    public init(name: String, value: String, type: ParameterValueType? = .string) {
        self.name = name
        self.value = value
        self.type = type
    }
}

/// `ParameterInfoStruct` of a GetParameterNamesResponse; objects are named with a trailing dot.
public struct ParameterInfoStruct: Hashable, Sendable {
    public var name: String
    public var writable: Bool

    public init(name: String, writable: Bool) {
        self.name = name
        self.writable = writable
    }
}

/// The Notification attribute (TR-069 §A.3.2.4): 0 off, 1 passive, 2 active; CWMP 1.4 adds 3–6
/// (passive/active lightweight and combinations), carried as the raw number.
public struct NotificationValue: RawRepresentable, Hashable, Sendable, Comparable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let off = NotificationValue(rawValue: 0)
    public static let passive = NotificationValue(rawValue: 1)
    public static let active = NotificationValue(rawValue: 2)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// `ParameterAttributeStruct` of a GetParameterAttributesResponse.
public struct ParameterAttributeStruct: Hashable, Sendable {
    public var name: String
    public var notification: NotificationValue
    public var accessList: [String]

    public init(name: String, notification: NotificationValue, accessList: [String]) {
        self.name = name
        self.notification = notification
        self.accessList = accessList
    }
}

/// `SetParameterAttributesStruct` of a SetParameterAttributes request.
public struct SetParameterAttributesStruct: Hashable, Sendable {
    public var name: String
    public var notificationChange: Bool
    public var notification: NotificationValue
    public var accessListChange: Bool
    public var accessList: [String]

    public init(name: String, notificationChange: Bool, notification: NotificationValue,
                accessListChange: Bool, accessList: [String]) {
        self.name = name
        self.notificationChange = notificationChange
        self.notification = notification
        self.accessListChange = accessListChange
        self.accessList = accessList
    }
}
