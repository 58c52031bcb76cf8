// TR-181 dotted paths ↔ UPnP DM node paths, per CMS:2 Appendix C "BBF (TR-069) Mapping Rules" (upnp-dm.md §2.3):
// drop the `Device.` root, dots become slashes, and the result goes under the BBF model's Location (`/BBF/` unless
// GetSupportedDataModels says otherwise). Object paths become partial paths (ending `/`), `{i}` becomes the UPnP
// instance number, or `#` in a structure path. The identity leaves of `Device.DeviceInfo.` come from the UPnP DM
// model's own `/UPnP/DM/DeviceInfo/` (every DM device has it; not every one mounts a BBF DeviceInfo).
//
// Instance numbers are never translated here. UPnP numbers may start at 0 and be sparse, and CWMP numbers must never be
// reused, so the two are kept apart: the provider hands the data-model engine the UPnP instance number as the
// instance's *key* (`ProviderInstance.key`), and the engine's per-table key → CWMP-number map (persisted with the
// agent's state, numbers never reused) is this device's instance map.

import Proxier

/// How one device's UPnP DM tree lines up with the TR-181 tree a provider serves.
public struct DMPathMapping: Hashable, Sendable {
    /// The dotted template the device's BBF model root corresponds to: `Device.` for a virtual CWMP device; for an
    /// embedded device a deeper mount such as `Device.X_Proxy.{i}.` (its `{i}` keys are the engine's numbers and are
    /// not part of the UPnP path).
    public var dottedRoot: String
    /// The BBF model's Location in the device's tree (`/BBF/`).
    public var location: String
    /// Leaves of `<dottedRoot>DeviceInfo.` read from `/UPnP/DM/DeviceInfo/` instead of the BBF model.
    public var upnpDeviceInfoLeaves: Set<String>

    public static let upnpDeviceInfoLocation = "/UPnP/DM/DeviceInfo/"
    /// The `/UPnP/DM/DeviceInfo/` leaves whose TR-181 `Device.DeviceInfo.` namesakes mean the same thing.
    public static let defaultDeviceInfoLeaves: Set<String> = [
        "ManufacturerOUI", "ProductClass", "SerialNumber", "SoftwareVersion", "HardwareVersion", "ProvisioningCode", "UpTime",
    ]

    public init(dottedRoot: String = "Device.", location: String = "/BBF/",
                upnpDeviceInfoLeaves: Set<String> = DMPathMapping.defaultDeviceInfoLeaves) {
        self.dottedRoot = dottedRoot
        self.location = location.hasSuffix("/") ? location : location + "/"
        self.upnpDeviceInfoLeaves = upnpDeviceInfoLeaves
    }

    /// The BBF model's Location from GetSupportedDataModels: the first SubTree whose URI names a TR-181 (Device:2)
    /// model, else `/BBF/` (what devolo's control point falls back to).
    public static func bbfLocation(in models: [DMSupportedDataModel]) -> String {
        models.first { $0.uri.hasPrefix("urn:broadband-forum-org:tr-181-2") }?.location ?? "/BBF/"
    }

    private var rootKeyCount: Int { dottedRoot.components(separatedBy: "{i}").count - 1 }

    /// The UPnP DM path of a provider path: a parameter path, or a partial path (ending `/`) for an object or table
    /// template (ending `.`). Keys must be UPnP instance numbers (decimal); anything else names nothing on the device.
    public func upnpPath(_ path: ProviderPath) throws(ProxierError) -> String {
        try translate(path.template, keys: path.instanceKeys, structure: false)
    }

    /// The structure path (definition view, `#` for every instance) of a template: `Device.IP.Interface.{i}.Enable` →
    /// `/BBF/IP/Interface/#/Enable`.
    public func structurePath(template: String) throws(ProxierError) -> String {
        try translate(template, keys: [], structure: true)
    }

    /// CreateInstance's MultiInstanceName for a table: the table's partial path with the new instance as `#`
    /// (`/BBF/IP/Interface/#/`; instances above it keep their numbers).
    public func multiInstanceName(table: ProviderPath) throws(ProxierError) -> String {
        try upnpPath(table) + "#/"
    }

    private func translate(_ template: String, keys: [String], structure: Bool) throws(ProxierError) -> String {
        guard template.hasPrefix(dottedRoot) else {
            throw ProxierError(.unknownPath, "\(template) is outside \(dottedRoot), the subtree this device serves")
        }
        let rest = template.dropFirst(dottedRoot.count)
        var segments = rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let isPartial = segments.last == ""
        if isPartial { segments.removeLast() }
        var remainingKeys = keys.dropFirst(rootKeyCount).makeIterator()
        var out: [String] = []
        for segment in segments {
            if segment == "{i}" {
                if structure {
                    out.append("#")
                } else {
                    guard let key = remainingKeys.next() else {
                        throw ProxierError(.invalidPath, "\(template) has more {i} than the \(keys.count) keys given")
                    }
                    guard Self.isInstanceNumber(key) else {
                        throw ProxierError(.unknownPath, "\(key) is not a UPnP DM instance number")
                    }
                    out.append(key)
                }
            } else {
                guard !segment.isEmpty, !segment.contains("/"), segment != "#" else {
                    throw ProxierError(.invalidPath, "\(template) has an empty or unmappable segment")
                }
                out.append(segment)
            }
        }
        if !isPartial, out.count == 2, out[0] == "DeviceInfo", upnpDeviceInfoLeaves.contains(out[1]) {
            return Self.upnpDeviceInfoLocation + out[1]
        }
        let joined = out.joined(separator: "/")
        if joined.isEmpty { return location }
        return location + joined + (isPartial ? "/" : "")
    }

    /// The instance number of a direct child of a table, from an InstancePath: with table `/BBF/IP/Interface/`,
    /// `/BBF/IP/Interface/3/` and `/BBF/IP/Interface/3` give `3`; deeper paths (`…/3/Stats/`) give nil.
    public static func instanceKey(of instancePath: String, inTable tablePath: String) -> String? {
        guard instancePath.hasPrefix(tablePath) else { return nil }
        var rest = instancePath.dropFirst(tablePath.count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let key = String(rest)
        return isInstanceNumber(key) ? key : nil
    }

    /// A UPnP DM instance number: decimal digits only, within ui4.
    static func isInstanceNumber(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } && UInt32(text) != nil
    }

    /// The TR-181 template of a structure path (GetSupportedParameters): `/BBF/IP/Interface/#/Enable` →
    /// `Device.IP.Interface.{i}.Enable`, `/BBF/IP/Interface/#/` → `Device.IP.Interface.{i}.`; the identity leaves of
    /// `/UPnP/DM/DeviceInfo/` → `Device.DeviceInfo.…`. Nil for paths outside both trees. The `{i}` of `dottedRoot`
    /// stay as they are.
    public func template(ofStructurePath path: String) -> String? {
        if path.hasPrefix(Self.upnpDeviceInfoLocation) {
            let leaf = String(path.dropFirst(Self.upnpDeviceInfoLocation.count))
            return upnpDeviceInfoLeaves.contains(leaf) ? dottedRoot + "DeviceInfo." + leaf : nil
        }
        guard path.hasPrefix(location) else { return nil }
        var segments = path.dropFirst(location.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let isPartial = segments.last == ""
        if isPartial { segments.removeLast() }
        guard !segments.contains("") else { return nil }
        let body = segments.map { $0 == "#" ? "{i}" : $0 }.joined(separator: ".")
        if body.isEmpty { return dottedRoot }
        return dottedRoot + body + (isPartial ? "." : "")
    }

    /// The dotted TR-181 name of a UPnP DM parameter or partial path under `location` or `/UPnP/DM/DeviceInfo/`
    /// (for event reports), with the UPnP instance numbers as the keys: `/BBF/IP/Interface/3/Enable` →
    /// (`Device.IP.Interface.{i}.Enable`, keys ["3"]) when `Device.IP.Interface.` is one of `tables` (table
    /// templates), else nil. `rootKeys` are the engine's numbers for the `{i}` of `dottedRoot`.
    public func providerPath(ofUPnPPath path: String, tables: Set<String>, rootKeys: [String] = []) -> ProviderPath? {
        if path.hasPrefix(Self.upnpDeviceInfoLocation) {
            let leaf = String(path.dropFirst(Self.upnpDeviceInfoLocation.count))
            guard upnpDeviceInfoLeaves.contains(leaf) else { return nil }
            return ProviderPath(template: dottedRoot + "DeviceInfo." + leaf, instanceKeys: rootKeys)
        }
        guard path.hasPrefix(location) else { return nil }
        var segments = path.dropFirst(location.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let isPartial = segments.last == ""
        if isPartial { segments.removeLast() }
        var template = dottedRoot
        var keys = rootKeys
        for segment in segments {
            guard !segment.isEmpty else { return nil }
            if Self.isInstanceNumber(segment), tables.contains(template) {
                template += "{i}."
                keys.append(segment)
            } else {
                template += segment + "."
            }
        }
        if !isPartial, template.hasSuffix(".") { template.removeLast() }
        return ProviderPath(template: template, instanceKeys: keys)
    }
}
