// A small hand-built schema in the shape of TR-181, a provider that counts its calls, and helpers.
import CWMPClient
import Proxier

enum TestSchema {
    static let string = ParameterSyntax.string(StringFacets())
    static let boolean = ParameterSyntax.boolean

    static let schema = DataModelSchema(objects: [
        ObjectSchema(path: "Device.", access: .readOnly, parameters: [
            ParameterSchema(name: "RootDataModelVersion", access: .readOnly, syntax: string, defaultValue: "2.19"),
        ]),
        ObjectSchema(path: "Device.DeviceInfo.", access: .readOnly, parameters: [
            ParameterSchema(name: "Manufacturer", access: .readOnly, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 64)])),
                            forcedInform: true),
            ParameterSchema(name: "SoftwareVersion", access: .readOnly, syntax: string, activeNotify: .forceEnabled, forcedInform: true),
            ParameterSchema(name: "UpTime", access: .readOnly, syntax: .unsignedInt([]), activeNotify: .canDeny),
            ParameterSchema(name: "ProvisioningCode", access: .readWrite, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 64)])),
                            activeNotify: .forceEnabled, forcedInform: true),
            ParameterSchema(name: "X_TEST_Noisy", access: .readOnly, syntax: .unsignedInt([]), activeNotify: .willDeny),
        ]),
        ObjectSchema(path: "Device.ManagementServer.", access: .readOnly, parameters: [
            ParameterSchema(name: "URL", access: .readWrite, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 256)]))),
            ParameterSchema(name: "Password", access: .readWrite, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 256)])),
                            isSecured: true),
            ParameterSchema(name: "ParameterKey", access: .readOnly, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 32)])),
                            forcedInform: true),
            ParameterSchema(name: "PeriodicInformEnable", access: .readWrite, syntax: boolean),
            ParameterSchema(name: "PeriodicInformInterval", access: .readWrite, syntax: .unsignedInt([IntegerRange(minInclusive: 1)])),
            ParameterSchema(name: "PeriodicInformTime", access: .readWrite, syntax: .dateTime),
            ParameterSchema(name: "ConnectionRequestURL", access: .readOnly, syntax: string, activeNotify: .forceDefaultEnabled,
                            forcedInform: true),
        ]),
        ObjectSchema(path: "Device.IP.", access: .readOnly, parameters: [
            ParameterSchema(name: "InterfaceNumberOfEntries", access: .readOnly, syntax: .unsignedInt([])),
        ]),
        ObjectSchema(path: "Device.IP.Interface.{i}.", access: .readWrite, minEntries: 0, maxEntries: 4,
                     numberOfEntriesParameter: "Device.IP.InterfaceNumberOfEntries", uniqueKeys: [["Alias"], ["Name"]],
                     parameters: [
                         ParameterSchema(name: "Enable", access: .readWrite, syntax: boolean, defaultValue: "false"),
                         ParameterSchema(name: "Alias", access: .readWrite,
                                         syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 64)])), dataType: "Alias"),
                         ParameterSchema(name: "Name", access: .readOnly, syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 64)]))),
                         ParameterSchema(name: "Status", access: .readOnly,
                                         syntax: .string(StringFacets(enumerations: ["Up", "Down", "Unknown"])), defaultValue: "Down"),
                         ParameterSchema(name: "MaxMTUSize", access: .readWrite,
                                         syntax: .unsignedInt([IntegerRange(minInclusive: 64, maxInclusive: 65535)]), defaultValue: "1500"),
                         ParameterSchema(name: "LowerLayers", access: .readWrite,
                                         syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 256)])),
                                         list: ListFacets(sizes: [SizeRange(maxLength: 1024)], maxItems: 3)),
                         ParameterSchema(name: "IPv4AddressNumberOfEntries", access: .readOnly, syntax: .unsignedInt([])),
                     ]),
        ObjectSchema(path: "Device.IP.Interface.{i}.Stats.", access: .readOnly, parameters: [
            ParameterSchema(name: "BytesSent", access: .readOnly, syntax: .unsignedLong([]), dataType: "StatsCounter64",
                            activeNotify: .canDeny),
        ]),
        ObjectSchema(path: "Device.IP.Interface.{i}.IPv4Address.{i}.", access: .readWrite, minEntries: 0, maxEntries: nil,
                     numberOfEntriesParameter: "Device.IP.Interface.{i}.IPv4AddressNumberOfEntries", parameters: [
                         ParameterSchema(name: "Enable", access: .readWrite, syntax: boolean, defaultValue: "false"),
                         ParameterSchema(name: "Alias", access: .readWrite,
                                         syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 64)])), dataType: "Alias"),
                         ParameterSchema(name: "IPAddress", access: .readWrite,
                                         syntax: .string(StringFacets(sizes: [SizeRange(maxLength: 15)],
                                                                      patterns: ["", #"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"#])),
                                         dataType: "IPv4Address"),
                     ]),
        ObjectSchema(path: "Device.Hosts.", access: .readOnly, parameters: [
            ParameterSchema(name: "HostNumberOfEntries", access: .readOnly, syntax: .unsignedInt([])),
        ]),
        ObjectSchema(path: "Device.Hosts.Host.{i}.", access: .readOnly, minEntries: 0, maxEntries: nil,
                     numberOfEntriesParameter: "Device.Hosts.HostNumberOfEntries", parameters: [
                         ParameterSchema(name: "PhysAddress", access: .readOnly, syntax: string),
                         ParameterSchema(name: "HostName", access: .readOnly, syntax: string),
                         ParameterSchema(name: "Active", access: .readOnly, syntax: boolean),
                     ]),
    ])

    static let tree = SchemaTree(schema)

    /// The provider's starting values: two interfaces (the first with one address) and three hosts.
    static let values: [String: String] = [
        "Device.RootDataModelVersion": "2.19",
        "Device.DeviceInfo.Manufacturer": "ACME",
        "Device.DeviceInfo.SoftwareVersion": "1.0.0",
        "Device.DeviceInfo.UpTime": "1234",
        "Device.DeviceInfo.ProvisioningCode": "",
        "Device.DeviceInfo.X_TEST_Noisy": "7",
        "Device.ManagementServer.URL": "https://acs.example.net/cwmp",
        "Device.ManagementServer.Password": "s3cret",
        "Device.ManagementServer.PeriodicInformEnable": "1",
        "Device.ManagementServer.PeriodicInformInterval": "3600",
        "Device.ManagementServer.PeriodicInformTime": "0001-01-01T00:00:00Z",
        "Device.ManagementServer.ConnectionRequestURL": "http://192.0.2.1:7547/cr",
        "Device.IP.Interface.1.Enable": "true",
        "Device.IP.Interface.1.Alias": "wan",
        "Device.IP.Interface.1.Name": "eth0",
        "Device.IP.Interface.1.Status": "Up",
        "Device.IP.Interface.1.MaxMTUSize": "1500",
        "Device.IP.Interface.1.LowerLayers": "",
        "Device.IP.Interface.1.Stats.BytesSent": "99",
        "Device.IP.Interface.1.IPv4Address.1.Enable": "true",
        "Device.IP.Interface.1.IPv4Address.1.IPAddress": "192.0.2.1",
        "Device.IP.Interface.2.Enable": "false",
        "Device.IP.Interface.2.Name": "br-lan",
        "Device.IP.Interface.2.Status": "Down",
        "Device.IP.Interface.2.MaxMTUSize": "1500",
        "Device.IP.Interface.2.LowerLayers": "",
        "Device.IP.Interface.2.Stats.BytesSent": "5",
        "Device.Hosts.Host.1.PhysAddress": "00:11:22:33:44:01",
        "Device.Hosts.Host.1.HostName": "laptop",
        "Device.Hosts.Host.1.Active": "1",
        "Device.Hosts.Host.2.PhysAddress": "00:11:22:33:44:02",
        "Device.Hosts.Host.2.HostName": "phone",
        "Device.Hosts.Host.2.Active": "0",
        "Device.Hosts.Host.3.PhysAddress": "00:11:22:33:44:03",
        "Device.Hosts.Host.3.HostName": "tv",
        "Device.Hosts.Host.3.Active": "1",
    ]

    /// A data model with the test schema, a counting in-memory provider mounted at `Device.`.
    static func make(state: DataModelState = DataModelState(),
                     configuration: DataModel.Configuration = DataModel.Configuration()) async throws -> (DataModel, CountingProvider) {
        let provider = CountingProvider(try InMemoryProvider(schema: tree, values: values))
        let model = DataModel(schema: tree, configuration: configuration, state: state)
        try await model.mount(provider, at: "Device.")
        return (model, provider)
    }
}

/// The fault an operation ends with, as the RPC layer would send it; `nil` when it succeeds.
func fault<T>(_ operation: () async throws -> T) async -> CWMPFault? {
    do {
        _ = try await operation()
        return nil
    } catch {
        return CWMPFault(converting: error)
    }
}

/// A provider that forwards to an `InMemoryProvider` and counts calls, so tests can prove batching; it can also
/// be told to fail.
actor CountingProvider: DataModelProvider {
    let inner: InMemoryProvider
    private(set) var instancesCalls = 0
    private(set) var valuesCalls = 0
    private(set) var validateCalls = 0
    private(set) var setCalls = 0
    private(set) var addCalls = 0
    private(set) var deleteCalls = 0
    private(set) var lastValuesBatch: [ProviderPath] = []
    private(set) var lastSetBatch: [ProviderParameterValue] = []
    var setValuesError: (any Error)?
    var validateError: (any Error)?

    init(_ inner: InMemoryProvider) { self.inner = inner }

    var totalCalls: Int { instancesCalls + valuesCalls + validateCalls + setCalls + addCalls + deleteCalls }

    func failSetValues(with error: (any Error)?) { setValuesError = error }
    func failValidation(with error: (any Error)?) { validateError = error }

    func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        instancesCalls += 1
        return try await inner.instances(of: tables)
    }

    func values(of parameters: [ProviderPath]) async throws -> [String] {
        valuesCalls += 1
        lastValuesBatch = parameters
        return try await inner.values(of: parameters)
    }

    func validateValues(_ values: [ProviderParameterValue]) async throws {
        validateCalls += 1
        if let validateError { throw validateError }
        try await inner.validateValues(values)
    }

    func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        setCalls += 1
        lastSetBatch = values
        if let setValuesError { throw setValuesError }
        return try await inner.setValues(values)
    }

    func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        addCalls += 1
        return try await inner.addInstance(to: table, instanceNumber: instanceNumber)
    }

    func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        deleteCalls += 1
        return try await inner.deleteInstance(instance)
    }
}

extension Array where Element == ParameterValueStruct {
    /// The value of the named parameter in a GetParameterValues answer.
    subscript(name: String) -> String? { first { $0.name == name }?.value }
}
