// Who the gateway is as a CPE: the DeviceInfo values that come from configuration rather than from the host.
// The DeviceId of the gateway's Informs (OUI, ProductClass, SerialNumber) is taken from here too, so the values the
// ACS reads and the identity it authenticates are the same by construction.

/// The gateway's own identity (TR-181 `Device.DeviceInfo.`), from configuration.
public struct GatewayIdentity: Hashable, Sendable {
    public var manufacturer: String
    /// Six upper-case hex digits (`[0-9A-F]{6}`).
    public var manufacturerOUI: String
    public var productClass: String
    public var serialNumber: String
    public var modelName: String
    public var description: String
    public var hardwareVersion: String
    /// The proxier's version (`cwmp-proxy --version`); the daemon passes its own.
    public var softwareVersion: String
    /// The ProvisioningCode to start with until a stored or ACS-set one replaces it.
    public var provisioningCode: String
    /// `Device.DeviceInfo.SupportedDataModel.{i}.`: the data models the gateway implements.
    public var supportedDataModels: [SupportedDataModel]

    public init(manufacturer: String, manufacturerOUI: String, productClass: String, serialNumber: String,
                modelName: String = "cwmp-proxy", description: String = "CWMP proxier for UPnP DM and SNMP devices",
                hardwareVersion: String = "", softwareVersion: String, provisioningCode: String = "",
                supportedDataModels: [SupportedDataModel] = [.tr181]) {
        self.manufacturer = manufacturer
        self.manufacturerOUI = manufacturerOUI
        self.productClass = productClass
        self.serialNumber = serialNumber
        self.modelName = modelName
        self.description = description
        self.hardwareVersion = hardwareVersion
        self.softwareVersion = softwareVersion
        self.provisioningCode = provisioningCode
        self.supportedDataModels = supportedDataModels
    }

    /// Checks every value against the schema it is served with, so a bad configuration fails at start-up and not in
    /// the middle of an ACS session.
    public func validate(against tree: SchemaTree) throws(ProxierError) {
        let values: [(String, String)] = [
            ("Manufacturer", manufacturer), ("ManufacturerOUI", manufacturerOUI), ("ProductClass", productClass),
            ("SerialNumber", serialNumber), ("ModelName", modelName), ("Description", description),
            ("HardwareVersion", hardwareVersion), ("SoftwareVersion", softwareVersion), ("ProvisioningCode", provisioningCode),
        ]
        for (name, value) in values {
            guard let parameter = tree.parameter(atTemplate: "Device.DeviceInfo." + name) else { continue }
            do throws(ProxierError) {
                _ = try parameter.validate(value, declaredType: nil)
            } catch {
                throw ProxierError(.invalidValue, "GatewayIdentity: \(error.reason)")
            }
        }
        for model in supportedDataModels {
            for (name, value) in [("URL", model.url), ("URN", model.urn), ("Features", model.features.joined(separator: ","))] {
                guard let parameter = tree.parameter(atTemplate: "Device.DeviceInfo.SupportedDataModel.{i}." + name) else { continue }
                do throws(ProxierError) {
                    _ = try parameter.validate(value, declaredType: nil)
                } catch {
                    throw ProxierError(.invalidValue, "GatewayIdentity.supportedDataModels: \(error.reason)")
                }
            }
        }
    }
}

/// One row of `Device.DeviceInfo.SupportedDataModel.{i}.`.
public struct SupportedDataModel: Hashable, Sendable {
    /// Where the ACS can fetch the device type (DT) document.
    public var url: String
    /// The `spec` of the model (`urn:broadband-forum-org:tr-181-2-19-1-cwmp`).
    public var urn: String
    /// Features of the DT the device supports (empty: no DT features are claimed).
    public var features: [String]

    public init(url: String, urn: String, features: [String] = []) {
        self.url = url
        self.urn = urn
        self.features = features
    }

    /// TR-181 Issue 2 Amendment 19 Corrigendum 1, the model the schema is generated from. No DT document is
    /// published for the gateway, so the URL names the BBF's model definition and no features are claimed.
    public static let tr181 = SupportedDataModel(
        url: "https://cwmp-data-models.broadband-forum.org/tr-181-2-19-1-cwmp.xml",
        urn: "urn:broadband-forum-org:tr-181-2-19-1-cwmp")
}
