// The data model of one virtual device for the capacity benchmark: smaller than the gateway's. Device.
// RootDataModelVersion, the identity part of Device.DeviceInfo (static values in an InMemoryProvider) and the
// gateway's Device.ManagementServer (a ManagementServerProvider: the agent needs its settings and change stream).
import CWMPClient
import Proxier

enum MinimalDevice {
    static let schema: SchemaTree = {
        var paths: Set<String> = ["Device.RootDataModelVersion"]
        for name in ["Manufacturer", "ManufacturerOUI", "ProductClass", "SerialNumber", "HardwareVersion", "SoftwareVersion",
                     "ProvisioningCode"] {
            paths.insert("Device.DeviceInfo." + name)
        }
        for path in GatewayDataModel.supportedPaths where path.hasPrefix("Device.ManagementServer.") { paths.insert(path) }
        return SchemaTree(DataModelSchema.tr181.restricted(to: paths))
    }()

    static func make(serial: String, settings: ManagementServerSettings) async throws
        -> (dataModel: DataModel, managementServer: ManagementServerProvider) {
        let configuration = GatewayDataModel.configuration
        let managementServer = try ManagementServerProvider(
            settings: settings, schema: schema,
            capabilities: ManagementServerCapabilities(aliasBasedAddressing: configuration.aliasBasedAddressing,
                                                       instanceWildcardsSupported: configuration.instanceWildcards))
        let values = try InMemoryProvider(schema: schema, values: [
            "Device.RootDataModelVersion": "2.19",
            "Device.DeviceInfo.Manufacturer": "Example Networks",
            "Device.DeviceInfo.ManufacturerOUI": "00D09E",
            "Device.DeviceInfo.ProductClass": "cap",
            "Device.DeviceInfo.SerialNumber": serial,
            "Device.DeviceInfo.HardwareVersion": "x86_64",
            "Device.DeviceInfo.SoftwareVersion": "0.1.0",
            "Device.DeviceInfo.ProvisioningCode": "",
        ])
        let model = DataModel(schema: schema, configuration: configuration)
        try await model.mount(values, at: "Device.")
        try await model.mount(managementServer, at: ManagementServerProvider.mountPath)
        return (model, managementServer)
    }
}
