// The CWMP identity (DeviceId: Manufacturer, OUI, ProductClass, SerialNumber) of a UPnP DM device proxied as a
// virtual CWMP device (TR-069 Annex J.2). The rule, field by field (also in docs/upnp-dm.md):
//
//   OUI           /UPnP/DM/DeviceInfo/ManufacturerOUI when it is 6 hexadecimal digits (upper-cased);
//                 else the first three octets of the device's MAC address, when the proxier knows it (the IEEE OUI
//                 of its network interface's maker); else the configured fallback OUI (the proxier's own).
//   ProductClass  /UPnP/DM/DeviceInfo/ProductClass when not empty; else the description's modelName; else the
//                 device type's name (`ManageableDevice`).
//   SerialNumber  /UPnP/DM/DeviceInfo/SerialNumber when not empty; else the description's serialNumber; else the
//                 UDN without `uuid:` (stable and unique per device).
//   Manufacturer  the description's manufacturer (the DM DeviceInfo has no manufacturer name); else `Unknown`.
//
// Every field is trimmed and cut to TR-069's 64 characters (OUI: 6). DM values come first because they are what the
// device itself says its CWMP identity is (Broadcom's proxier treats the three as mandatory); the description
// fields are the fallback for devices whose DM DeviceInfo lacks them, or that fault on GetValues.

import CWMPClient

/// The description fields the identity can fall back on (UDA device description).
public struct UPnPDeviceDescriptionIdentity: Hashable, Sendable {
    public var manufacturer: String?
    public var modelName: String?
    public var serialNumber: String?
    /// `uuid:…` as in the description.
    public var udn: String
    public var deviceType: String?
    /// The device's MAC address (`aa:bb:cc:dd:ee:ff`), when the proxier knows it (ARP, Hosts table).
    public var macAddress: String?

    public init(manufacturer: String?, modelName: String?, serialNumber: String?, udn: String, deviceType: String? = nil,
                macAddress: String? = nil) {
        self.manufacturer = manufacturer
        self.modelName = modelName
        self.serialNumber = serialNumber
        self.udn = udn
        self.deviceType = deviceType
        self.macAddress = macAddress
    }

    /// The fields of a parsed device description.
    public init(device: UPnPDevice, macAddress: String? = nil) {
        self.init(manufacturer: device.manufacturer, modelName: device.modelName, serialNumber: device.serialNumber,
                  udn: device.udn, deviceType: device.deviceType, macAddress: macAddress)
    }
}

public struct UPnPDMDeviceIdentity: Hashable, Sendable {
    /// Where a field came from, for logs and for the operator.
    public enum Source: String, Hashable, Sendable {
        case dmDeviceInfo, description, macAddress, udn, fallback
    }

    public var deviceId: DeviceId
    public var ouiSource: Source
    public var productClassSource: Source
    public var serialNumberSource: Source

    /// Applies the rule above. `dmDeviceInfo` holds `/UPnP/DM/DeviceInfo/` leaves by leaf name (empty when the
    /// device has none or refused GetValues).
    public init(dmDeviceInfo: [String: String], description: UPnPDeviceDescriptionIdentity, fallbackOUI: String) {
        func dm(_ leaf: String) -> String? {
            dmDeviceInfo[leaf].map(DMXML.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        }
        func nonEmpty(_ text: String?) -> String? { text.map(DMXML.trimmed).flatMap { $0.isEmpty ? nil : $0 } }
        func cut(_ text: String) -> String { String(text.prefix(64)) }

        let oui: String
        if let value = dm("ManufacturerOUI"), Self.isOUI(value) {
            (ouiSource, oui) = (.dmDeviceInfo, value.uppercased())
        } else if let value = description.macAddress.flatMap(Self.oui(fromMAC:)) {
            (ouiSource, oui) = (.macAddress, value)
        } else {
            (ouiSource, oui) = (.fallback, fallbackOUI.uppercased())
        }
        let productClass: String
        if let value = dm("ProductClass") {
            (productClassSource, productClass) = (.dmDeviceInfo, value)
        } else if let value = nonEmpty(description.modelName) {
            (productClassSource, productClass) = (.description, value)
        } else {
            let typeName = description.deviceType.flatMap { $0.split(separator: ":").dropLast().last.map(String.init) }
            (productClassSource, productClass) = (.fallback, typeName ?? "ManageableDevice")
        }
        let serialNumber: String
        if let value = dm("SerialNumber") {
            (serialNumberSource, serialNumber) = (.dmDeviceInfo, value)
        } else if let value = nonEmpty(description.serialNumber) {
            (serialNumberSource, serialNumber) = (.description, value)
        } else {
            let udn = DMXML.trimmed(description.udn)
            (serialNumberSource, serialNumber) = (.udn, udn.lowercased().hasPrefix("uuid:") ? String(udn.dropFirst(5)) : udn)
        }
        deviceId = DeviceId(manufacturer: cut(nonEmpty(description.manufacturer) ?? "Unknown"), oui: oui,
                            productClass: cut(productClass), serialNumber: cut(serialNumber))
    }

    /// Reads `/UPnP/DM/DeviceInfo/` with one GetValues on the partial path and applies the rule. A device that
    /// faults (or answers nonsense) gets its identity from the description alone.
    public static func read(using cms: ConfigurationManagementClient, description: UPnPDeviceDescriptionIdentity,
                            fallbackOUI: String) async throws -> UPnPDMDeviceIdentity {
        var leaves: [String: String] = [:]
        do {
            for entry in try await cms.getValues([DMPathMapping.upnpDeviceInfoLocation])
            where entry.path.hasPrefix(DMPathMapping.upnpDeviceInfoLocation) {
                leaves[String(entry.path.dropFirst(DMPathMapping.upnpDeviceInfoLocation.count))] = entry.value
            }
        } catch let error as UPnPDMError where Self.answeredBadly.contains(error.code) {
            // The device is there but will not or cannot say: its description decides. Transport failures propagate.
            leaves = [:]
        }
        return UPnPDMDeviceIdentity(dmDeviceInfo: leaves, description: description, fallbackOUI: fallbackOUI)
    }

    static let answeredBadly: Set<UPnPDMError.ErrorCode> = [
        .actionFailed, .invalidResponse, .malformedXML, .forbiddenDocumentType, .documentTooLarge, .documentTooDeep,
    ]

    static func isOUI(_ text: String) -> Bool {
        text.utf8.count == 6 && text.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit }
    }

    /// `aa:bb:cc:dd:ee:ff` or `aa-bb-…` → `AABBCC`.
    static func oui(fromMAC mac: String) -> String? {
        let octets = mac.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && Self.isOUI(String(repeating: String($0), count: 3)) }) else {
            return nil
        }
        return octets.prefix(3).joined().uppercased()
    }
}
