// The data-model schema: what each object and parameter of TR-181 is (type, limits, access, notification rules).
// The tables themselves are generated from the Broadband Forum's TR-181 XML by scripts/generate-datamodel.py
// into DataModel/Generated/; this file only defines their shape.

/// Parameter and object access as the BBF XML states it.
public enum SchemaAccess: String, Hashable, Sendable {
    case readOnly
    case readWrite
    /// Writable once (typically when the object is created), read-only afterwards.
    case writeOnceReadOnly
}

/// The BBF XML `activeNotify` attribute: whether an ACS may set Notification=2 (active) on the parameter.
public enum ActiveNotify: String, Hashable, Sendable {
    case normal
    /// The CPE may reject active notification (fault 9009): counters, UpTime and other fast-changing values.
    case canDeny
    /// The CPE always rejects active notification.
    case willDeny
    /// Active notification is always on and cannot be turned off (SoftwareVersion, ProvisioningCode).
    case forceEnabled
    /// Active notification is on by default (ConnectionRequestURL, …) but may be turned off.
    case forceDefaultEnabled
}

/// An inclusive range of integer values (BBF `<range minInclusive maxInclusive step>`); `nil` bounds are open.
public struct IntegerRange: Hashable, Sendable {
    public var minInclusive: Int128?
    public var maxInclusive: Int128?
    public var step: Int128?

    public init(minInclusive: Int128? = nil, maxInclusive: Int128? = nil, step: Int128? = nil) {
        self.minInclusive = minInclusive
        self.maxInclusive = maxInclusive
        self.step = step
    }
}

/// A length limit (BBF `<size minLength maxLength>`), in characters for strings and bytes for binary types.
public struct SizeRange: Hashable, Sendable {
    public var minLength: Int?
    public var maxLength: Int?

    public init(minLength: Int? = nil, maxLength: Int? = nil) {
        self.minLength = minLength
        self.maxLength = maxLength
    }
}

/// Facets of a string parameter: any one of several sizes, patterns or enumerations suffices.
public struct StringFacets: Hashable, Sendable {
    public var sizes: [SizeRange]
    /// XSD-style regular expressions (anchored at both ends, as in XML Schema).
    public var patterns: [String]
    public var enumerations: [String]

    public init(sizes: [SizeRange] = [], patterns: [String] = [], enumerations: [String] = []) {
        self.sizes = sizes
        self.patterns = patterns
        self.enumerations = enumerations
    }
}

/// The base syntax of a parameter, with its limits; TR-106 named types are resolved to these.
public enum ParameterSyntax: Hashable, Sendable {
    case string(StringFacets)
    case int([IntegerRange])
    case unsignedInt([IntegerRange])
    case long([IntegerRange])
    case unsignedLong([IntegerRange])
    case boolean
    case dateTime
    case base64([SizeRange])
    case hexBinary([SizeRange])
}

/// A comma-separated list parameter (BBF `<list>`): the syntax applies to each item.
public struct ListFacets: Hashable, Sendable {
    public var sizes: [SizeRange]
    public var minItems: Int?
    public var maxItems: Int?

    public init(sizes: [SizeRange] = [], minItems: Int? = nil, maxItems: Int? = nil) {
        self.sizes = sizes
        self.minItems = minItems
        self.maxItems = maxItems
    }
}

/// One parameter of an object.
public struct ParameterSchema: Hashable, Sendable {
    /// The parameter's own name, e.g. `ManufacturerOUI`.
    public var name: String
    public var access: SchemaAccess
    public var syntax: ParameterSyntax
    /// The TR-106 / TR-181 named data type it was declared with (`Alias`, `MACAddress`, `StatsCounter64`, …).
    public var dataType: String?
    /// Present when the value is a comma-separated list.
    public var list: ListFacets?
    public var activeNotify: ActiveNotify
    /// The parameter is in every Inform (BBF `forcedInform="true"`).
    public var forcedInform: Bool
    /// The factory default, when the XML gives one (`<default type="object|factory" value=…>`).
    public var defaultValue: String?
    /// The value is hidden on read (passwords and keys: GetParameterValues returns an empty string).
    public var isSecured: Bool

    public init(name: String, access: SchemaAccess, syntax: ParameterSyntax, dataType: String? = nil,
                list: ListFacets? = nil, activeNotify: ActiveNotify = .normal, forcedInform: Bool = false,
                defaultValue: String? = nil, isSecured: Bool = false) {
        self.name = name
        self.access = access
        self.syntax = syntax
        self.dataType = dataType
        self.list = list
        self.activeNotify = activeNotify
        self.forcedInform = forcedInform
        self.defaultValue = defaultValue
        self.isSecured = isSecured
    }
}

/// One object of the data model, named by its template path (`Device.ManagementServer.EmbeddedDevice.{i}.`).
public struct ObjectSchema: Hashable, Sendable {
    public var path: String
    /// readWrite on a multi-instance object means AddObject/DeleteObject are allowed.
    public var access: SchemaAccess
    public var minEntries: Int
    /// `nil` means unbounded.
    public var maxEntries: Int?
    /// The `…NumberOfEntries` parameter (full template path) that counts this table's instances.
    public var numberOfEntriesParameter: String?
    /// Unique keys (parameter names); an ACS may not create two instances with the same key values.
    public var uniqueKeys: [[String]]
    public var parameters: [ParameterSchema]

    public init(path: String, access: SchemaAccess, minEntries: Int = 1, maxEntries: Int? = 1,
                numberOfEntriesParameter: String? = nil, uniqueKeys: [[String]] = [],
                parameters: [ParameterSchema]) {
        self.path = path
        self.access = access
        self.minEntries = minEntries
        self.maxEntries = maxEntries
        self.numberOfEntriesParameter = numberOfEntriesParameter
        self.uniqueKeys = uniqueKeys
        self.parameters = parameters
    }

    /// A table (multi-instance object): its template path ends in `{i}.`.
    public var isMultiInstance: Bool { path.hasSuffix(".{i}.") }
}

/// A whole data model's schema, indexed by template path.
public struct DataModelSchema: Sendable {
    /// Objects by template path (`Device.IP.Interface.{i}.IPv4Address.{i}.`).
    public let objects: [String: ObjectSchema]

    public init(objects: [ObjectSchema]) {
        var byPath: [String: ObjectSchema] = [:]
        for object in objects { byPath[object.path] = object }
        self.objects = byPath
    }

    /// The object with this template path, which ends with a dot.
    public func object(atTemplate path: String) -> ObjectSchema? { objects[path] }

    /// The parameter with this template path (`Device.DeviceInfo.ProxierInfo.ManufacturerOUI`).
    public func parameter(atTemplate path: String) -> ParameterSchema? {
        guard let dot = path.lastIndex(of: "."), let object = objects[String(path[...dot])] else { return nil }
        let name = path[path.index(after: dot)...]
        return object.parameters.first { $0.name == name }
    }
}
