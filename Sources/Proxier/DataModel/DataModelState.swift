// Everything a device's data model must remember across restarts, as one plain value: the ParameterKey,
// instance numbering (numbers are never reused, so each table keeps its counter even when empty), aliases,
// and parameter attributes that differ from their defaults. The agent persists it in its SQLite store
// (DataModelState+Persistence.swift) after every RPC, before the response.
import CWMPClient

/// The persistent state of one data model.
public struct DataModelState: Hashable, Sendable {
    /// `ManagementServer.ParameterKey`: the key of the last successful SetParameterValues/AddObject/DeleteObject.
    public var parameterKey: String
    /// Tables by their path with instance numbers (`Device.IP.Interface.3.IPv4Address.`).
    public var tables: [String: TableState]
    /// Attributes by full parameter path, only where they differ from the schema's defaults.
    public var attributes: [String: StoredAttributes]

    public init(parameterKey: String = "", tables: [String: TableState] = [:], attributes: [String: StoredAttributes] = [:]) {
        self.parameterKey = parameterKey
        self.tables = tables
        self.attributes = attributes
    }
}

/// A table's instances and the number the next new instance gets.
public struct TableState: Hashable, Sendable {
    public var nextInstanceNumber: UInt32
    /// Ordered by instance number.
    public var instances: [InstanceState]

    public init(nextInstanceNumber: UInt32 = 1, instances: [InstanceState] = []) {
        self.nextInstanceNumber = nextInstanceNumber
        self.instances = instances
    }

    func instance(number: UInt32) -> InstanceState? { instances.first { $0.number == number } }
    func instance(alias: String) -> InstanceState? { instances.first { $0.alias == alias } }
    func instance(key: String) -> InstanceState? { instances.first { $0.key == key } }
}

/// One instance: its CWMP number, its provider's key, and its Alias (owned by the engine, never changed by it).
public struct InstanceState: Hashable, Sendable {
    public var number: UInt32
    public var key: String
    public var alias: String?

    public init(number: UInt32, key: String, alias: String?) {
        self.number = number
        self.key = key
        self.alias = alias
    }
}

/// Stored attributes of one parameter; `nil` fields mean the default.
public struct StoredAttributes: Hashable, Sendable {
    public var notification: NotificationValue?
    public var accessList: [String]?

    public init(notification: NotificationValue? = nil, accessList: [String]? = nil) {
        self.notification = notification
        self.accessList = accessList
    }

    var isDefault: Bool { notification == nil && accessList == nil }
}
