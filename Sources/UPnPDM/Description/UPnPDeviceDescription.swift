// Device descriptions (UDA 1.1 §2.3): `<root>` with specVersion, URLBase, and the root `<device>` with its services
// and embedded devices. Every text value is trimmed (devices pad them). URLs are resolved to absolute ones
// against URLBase, or against the URL the description was fetched from when URLBase is absent (UDA 1.1
// deprecates URLBase); absolute URLs in the description are kept as they are (gwsim writes those).

import FoundationEssentials

/// A parsed device description.
public struct UPnPDeviceDescription: Sendable, Hashable {
    /// `specVersion/major` and `minor` (1.0 when absent: old devices omit it).
    public var specVersionMajor: Int
    public var specVersionMinor: Int
    /// The `configId` attribute of `<root>` (UDA 1.1), if any.
    public var configID: Int?
    /// `URLBase` as written, if present.
    public var urlBase: String?
    /// The URL everything relative is resolved against: URLBase, or the description's own URL.
    public var baseURL: String
    public var device: UPnPDevice

    /// `major.minor`, as TR-181 `DeviceDescription.SpecVersion` wants it.
    public var specVersion: String { "\(specVersionMajor).\(specVersionMinor)" }

    /// Every device, the root first, then embedded devices depth first.
    public var allDevices: [UPnPDevice] {
        var result: [UPnPDevice] = []
        func visit(_ device: UPnPDevice) {
            result.append(device)
            device.embeddedDevices.forEach(visit)
        }
        visit(device)
        return result
    }

    /// Parses a description fetched from `location` (the SSDP LOCATION).
    public init(parsing bytes: [UInt8], location: String,
                maximumBytes: Int = 256 * 1024) throws(UPnPDMError) {
        let root = try UPnPXML.parse(bytes, limits: .init(maximumBytes: maximumBytes, maximumDepth: 32,
                                                          maximumElements: 20_000), what: "device description")
        guard root.localName == "root" else {
            throw UPnPDMError(.invalidDescription, "the device description's root element is <\(root.localName)>, not <root>")
        }
        let spec = root.child("specVersion")
        specVersionMajor = spec?.childText("major").flatMap { Int($0) } ?? 1
        specVersionMinor = spec?.childText("minor").flatMap { Int($0) } ?? 0
        configID = root.attributes["configId"].flatMap { Int($0.trimmingWhitespace()) }
        let urlBase = root.childText("URLBase").flatMap { $0.isEmpty ? nil : $0 }
        self.urlBase = urlBase
        guard let locationURL = URL(string: String(location.trimmingWhitespace())), locationURL.scheme != nil else {
            throw UPnPDMError(.invalidURL, "the description location is not an absolute URL: \(location.debugDescription)")
        }
        let base = urlBase.flatMap { URL(string: $0) }.flatMap { $0.scheme == nil ? nil : $0 } ?? locationURL
        baseURL = base.absoluteString
        guard let deviceElement = root.child("device") else {
            throw UPnPDMError(.invalidDescription, "the device description has no <device>")
        }
        device = try UPnPDevice(deviceElement, base: base, depth: 0)
    }
}

/// A device (root or embedded) of a description.
public struct UPnPDevice: Sendable, Hashable {
    public var deviceType: String
    public var friendlyName: String
    public var manufacturer: String
    public var manufacturerURL: String?
    public var modelDescription: String?
    public var modelName: String
    public var modelNumber: String?
    public var modelURL: String?
    public var serialNumber: String?
    /// `uuid:…` as written.
    public var udn: String
    public var upc: String?
    /// Absolute.
    public var presentationURL: String?
    public var services: [UPnPService]
    public var embeddedDevices: [UPnPDevice]

    /// The UDN without its `uuid:` prefix (TR-181 `DeviceInstance.UDN`).
    public var uuid: String { udn.lowercased().hasPrefix("uuid:") ? String(udn.dropFirst(5)) : udn }

    init(_ element: XMLElement, base: URL, depth: Int) throws(UPnPDMError) {
        // Embedded devices nest; a hostile description cannot nest them deeper than this.
        guard depth < 8 else { throw UPnPDMError(.invalidDescription, "embedded devices nest deeper than 8") }
        func optional(_ name: String) -> String? { element.childText(name).flatMap { $0.isEmpty ? nil : $0 } }
        guard let udn = optional("UDN") else {
            throw UPnPDMError(.invalidDescription, "a <device> has no UDN")
        }
        guard let deviceType = optional("deviceType") else {
            throw UPnPDMError(.invalidDescription, "device \(udn) has no deviceType")
        }
        self.udn = udn
        self.deviceType = deviceType
        // Required by UDA but missing on sloppy devices: empty rather than refusing the whole device.
        friendlyName = element.childText("friendlyName") ?? ""
        manufacturer = element.childText("manufacturer") ?? ""
        modelName = element.childText("modelName") ?? ""
        manufacturerURL = optional("manufacturerURL").map { UPnPURL.resolve($0, against: base) }
        modelDescription = optional("modelDescription")
        modelNumber = optional("modelNumber")
        modelURL = optional("modelURL").map { UPnPURL.resolve($0, against: base) }
        serialNumber = optional("serialNumber")
        upc = optional("UPC")
        presentationURL = optional("presentationURL").map { UPnPURL.resolve($0, against: base) }
        var services: [UPnPService] = []
        for service in element.child("serviceList")?.children ?? [] where service.localName == "service" {
            services.append(try UPnPService(service, base: base, device: udn))
        }
        self.services = services
        var embedded: [UPnPDevice] = []
        for child in element.child("deviceList")?.children ?? [] where child.localName == "device" {
            embedded.append(try UPnPDevice(child, base: base, depth: depth + 1))
        }
        embeddedDevices = embedded
    }

    /// The first service of this device (not of its embedded devices) whose type is exactly `serviceType`.
    public func service(type serviceType: String) -> UPnPService? {
        services.first { $0.serviceType == serviceType }
    }
}

/// A service of a device, with its URLs absolute.
public struct UPnPService: Sendable, Hashable {
    public var serviceType: String
    public var serviceId: String
    public var scpdURL: String
    public var controlURL: String
    public var eventSubURL: String

    /// What the control client needs.
    public var endpoint: UPnPServiceEndpoint { UPnPServiceEndpoint(serviceType: serviceType, controlURL: controlURL) }

    init(_ element: XMLElement, base: URL, device: String) throws(UPnPDMError) {
        guard let serviceType = element.childText("serviceType"), !serviceType.isEmpty else {
            throw UPnPDMError(.invalidDescription, "a service of \(device) has no serviceType")
        }
        guard let controlURL = element.childText("controlURL"), !controlURL.isEmpty else {
            throw UPnPDMError(.invalidDescription, "service \(serviceType) of \(device) has no controlURL")
        }
        self.serviceType = serviceType
        serviceId = element.childText("serviceId") ?? ""
        self.controlURL = UPnPURL.resolve(controlURL, against: base)
        // Placeholders (gwsim) are resolved like any URL; nothing here depends on them.
        scpdURL = element.childText("SCPDURL").map { $0.isEmpty ? "" : UPnPURL.resolve($0, against: base) } ?? ""
        eventSubURL = element.childText("eventSubURL").map { $0.isEmpty ? "" : UPnPURL.resolve($0, against: base) } ?? ""
    }
}

enum UPnPURL {
    /// `reference` resolved against `base` (RFC 3986); returned unchanged when it cannot be.
    static func resolve(_ reference: String, against base: URL) -> String {
        guard let url = URL(string: reference, relativeTo: base) else { return reference }
        return url.absoluteString
    }
}
