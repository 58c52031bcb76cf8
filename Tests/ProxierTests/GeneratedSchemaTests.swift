import Testing
import Proxier

// Facts checked here were read off tr-181-2-19-1-cwmp-full.generated.xml (and, for the corrected tables, the
// upstream BBF definitions), so a generator change that misreads the XML shows up as a failed fact.
@Suite struct GeneratedSchemaTests {
    let schema = DataModelSchema.tr181

    private func parameter(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ParameterSchema {
        try #require(schema.parameter(atTemplate: path), "\(path) missing", sourceLocation: sourceLocation)
    }

    private func object(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ObjectSchema {
        try #require(schema.object(atTemplate: path), "\(path) missing", sourceLocation: sourceLocation)
    }

    @Test func version() {
        #expect(DataModelSchema.tr181Version == "Device:2.19.1")
    }

    @Test func coversTheRequestedSubtrees() throws {
        for path in [
            "Device.", "Device.DeviceInfo.", "Device.DeviceInfo.ProxierInfo.", "Device.DeviceInfo.SupportedDataModel.{i}.",
            "Device.DeviceInfo.MemoryStatus.", "Device.DeviceInfo.ProcessStatus.", "Device.DeviceInfo.ProcessStatus.Process.{i}.",
            "Device.ManagementServer.", "Device.ManagementServer.ManageableDevice.{i}.",
            "Device.ManagementServer.EmbeddedDevice.{i}.", "Device.ManagementServer.VirtualDevice.{i}.",
            "Device.ManagementServer.InformParameter.{i}.", "Device.ManagementServer.HeartbeatPolicy.",
            "Device.ManagementServer.AutonomousTransferCompletePolicy.", "Device.Hosts.", "Device.Hosts.Host.{i}.",
            "Device.UPnP.", "Device.UPnP.Device.", "Device.UPnP.Discovery.", "Device.UPnP.Discovery.RootDevice.{i}.",
            "Device.DNS.", "Device.DNS.SD.", "Device.DNS.SD.Service.{i}.", "Device.Ethernet.Interface.{i}.",
            "Device.Ethernet.Interface.{i}.Stats.", "Device.IP.Interface.{i}.", "Device.IP.Interface.{i}.IPv4Address.{i}.",
            "Device.IP.Interface.{i}.IPv6Address.{i}.", "Device.IP.Interface.{i}.Stats.", "Device.GatewayInfo.",
            "Device.Time.", "Device.LANConfigSecurity.",
        ] {
            _ = try object(path)
        }
        #expect(try parameter("Device.RootDataModelVersion").forcedInform)
    }

    @Test func proxierInfoManufacturerOUI() throws {
        let oui = try parameter("Device.DeviceInfo.ProxierInfo.ManufacturerOUI")
        #expect(oui.access == .readOnly)
        #expect(oui.syntax == .string(StringFacets(sizes: [SizeRange(minLength: 6, maxLength: 6)], patterns: ["[0-9A-F]{6}"])))
        #expect(oui.dataType == nil)
        #expect(oui.activeNotify == .normal)
        #expect(!oui.forcedInform && !oui.isSecured && oui.list == nil)
    }

    @Test func notificationAttributes() throws {
        let softwareVersion = try parameter("Device.DeviceInfo.SoftwareVersion")
        #expect(softwareVersion.forcedInform)
        #expect(softwareVersion.activeNotify == .forceEnabled)
        #expect(try parameter("Device.DeviceInfo.ProvisioningCode").activeNotify == .forceEnabled)

        let url = try parameter("Device.ManagementServer.ConnectionRequestURL")
        #expect(url.activeNotify == .forceDefaultEnabled)
        #expect(url.forcedInform)
        #expect(url.dataType == "URL")
        #expect(url.syntax == .string(StringFacets(sizes: [SizeRange(maxLength: 2048)])))

        let parameterKey = try parameter("Device.ManagementServer.ParameterKey")
        #expect(parameterKey.activeNotify == .canDeny && parameterKey.forcedInform)

        let upTime = try parameter("Device.DeviceInfo.UpTime")
        #expect(upTime.activeNotify == .canDeny)
        #expect(upTime.syntax == .unsignedInt([]))
        #expect(try parameter("Device.GatewayInfo.ManufacturerOUI").activeNotify == .forceDefaultEnabled)
    }

    @Test func numericRanges() throws {
        let interval = try parameter("Device.ManagementServer.PeriodicInformInterval")
        #expect(interval.access == .readWrite)
        #expect(interval.syntax == .unsignedInt([IntegerRange(minInclusive: 1)]))
        #expect(try parameter("Device.ManagementServer.CWMPRetryIntervalMultiplier").syntax
            == .unsignedInt([IntegerRange(minInclusive: 1000, maxInclusive: 65535)]))
        #expect(try parameter("Device.ManagementServer.DelayReboot").syntax == .int([IntegerRange(minInclusive: -1)]))
        #expect(try parameter("Device.DeviceInfo.ProcessStatus.CPUUsage").syntax == .unsignedInt([IntegerRange(maxInclusive: 100)]))
        #expect(try parameter("Device.ManagementServer.HeartbeatPolicy.ReportingInterval").syntax
            == .unsignedInt([IntegerRange(minInclusive: 30)]))
    }

    @Test func securedParameters() throws {
        for path in [
            "Device.ManagementServer.Password", "Device.ManagementServer.ConnectionRequestPassword",
            "Device.ManagementServer.STUNPassword", "Device.LANConfigSecurity.ConfigPassword",
        ] {
            #expect(try parameter(path).isSecured, "\(path)")
        }
        #expect(try !parameter("Device.ManagementServer.Username").isSecured)
        #expect(try !parameter("Device.ManagementServer.ConnectionRequestUsername").isSecured)
    }

    @Test func embeddedDeviceTable() throws {
        let table = try object("Device.ManagementServer.EmbeddedDevice.{i}.")
        #expect(table.isMultiInstance)
        #expect(table.access == .readOnly)
        #expect(table.minEntries == 0)
        #expect(table.maxEntries == nil)
        #expect(table.numberOfEntriesParameter == "Device.ManagementServer.EmbeddedDeviceNumberOfEntries")
        #expect(try !object("Device.ManagementServer.").isMultiInstance)
    }

    @Test func informParameterTable() throws {
        let table = try object("Device.ManagementServer.InformParameter.{i}.")
        #expect(table.access == .readWrite)
        #expect(table.uniqueKeys == [["Alias"], ["ParameterName"]])
        #expect(table.numberOfEntriesParameter == "Device.ManagementServer.InformParameterNumberOfEntries")
        let alias = try parameter("Device.ManagementServer.InformParameter.{i}.Alias")
        // The XML says _AliasCWMP; the generator names it Alias as the published files do.
        #expect(alias.dataType == "Alias")
        #expect(alias.syntax == .string(StringFacets(sizes: [SizeRange(maxLength: 64)])))
        #expect(try parameter("Device.ManagementServer.InformParameter.{i}.Enable").defaultValue == "false")
        // report.pl writes the empty list as "[]"; CWMP carries it as "".
        let eventList = try parameter("Device.ManagementServer.InformParameter.{i}.EventList")
        #expect(eventList.list == ListFacets())
        #expect(eventList.defaultValue == "")
    }

    @Test func defaults() throws {
        #expect(try parameter("Device.ManagementServer.InstanceMode").defaultValue == "InstanceNumber")
        #expect(try parameter("Device.ManagementServer.EnableCWMP").defaultValue == "true")
        #expect(try parameter("Device.ManagementServer.URL").defaultValue == nil)
    }

    @Test func namedDataTypesResolve() throws {
        let mac = try parameter("Device.Ethernet.Interface.{i}.MACAddress")
        #expect(mac.dataType == "MACAddress")
        #expect(mac.syntax == .string(StringFacets(sizes: [SizeRange(maxLength: 17)],
                                                   patterns: ["", "([0-9A-Fa-f][0-9A-Fa-f]:){5}([0-9A-Fa-f][0-9A-Fa-f])"])))

        let bytesSent = try parameter("Device.Ethernet.Interface.{i}.Stats.BytesSent")
        #expect(bytesSent.dataType == "StatsCounter64")
        #expect(bytesSent.syntax == .unsignedLong([]))
        #expect(bytesSent.activeNotify == .canDeny)
        let errorsSent = try parameter("Device.IP.Interface.{i}.Stats.ErrorsSent")
        #expect(errorsSent.dataType == "StatsCounter32")
        #expect(errorsSent.syntax == .unsignedInt([]))

        // IPv4Address derives from IPAddress (maxLength 45) and narrows it: the derived facets win.
        let ipv4 = try parameter("Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress")
        #expect(ipv4.dataType == "IPv4Address")
        guard case .string(let facets) = ipv4.syntax else {
            Issue.record("IPv4Address is not a string: \(ipv4.syntax)")
            return
        }
        #expect(facets.sizes == [SizeRange(maxLength: 15)])
        #expect(facets.patterns.count == 2)
        #expect(try parameter("Device.Hosts.Host.{i}.IPAddress").syntax == .string(StringFacets(sizes: [SizeRange(maxLength: 45)])))
        #expect(try parameter("Device.DeviceInfo.SupportedDataModel.{i}.UUID").dataType == "UUID")
    }

    @Test func hostsAndUPnP() throws {
        let hosts = try object("Device.Hosts.Host.{i}.")
        #expect(hosts.isMultiInstance)
        #expect(hosts.uniqueKeys == [["PhysAddress"]])
        #expect(hosts.numberOfEntriesParameter == "Device.Hosts.HostNumberOfEntries")

        guard case .string(let status) = try parameter("Device.UPnP.Discovery.RootDevice.{i}.Status").syntax else {
            Issue.record("RootDevice Status is not a string")
            return
        }
        for value in ["LeaseActive", "LeaseExpired", "ByebyeReceived"] {
            #expect(status.enumerations.contains(value))
        }
    }

    @Test func statusHandling() throws {
        // status="deleted" parameters and enumeration values are gone; deprecated ones stay.
        #expect(schema.parameter(atTemplate: "Device.Time.NTPServer1") == nil)
        #expect(schema.parameter(atTemplate: "Device.Hosts.Host.{i}.LeaseTimeRemaining") == nil)
        guard case .string(let timeStatus) = try parameter("Device.Time.Status").syntax else {
            Issue.record("Time.Status is not a string")
            return
        }
        #expect(timeStatus.enumerations == ["Disabled", "Unsynchronized", "Synchronized", "Error"])
        _ = try object("Device.DeviceInfo.Processor.{i}.")
        _ = try parameter("Device.DeviceInfo.ProcessorNumberOfEntries")
    }

    /// Tables that report.pl reset to readOnly/1/1 carry their upstream limits again.
    @Test func correctedTables() throws {
        let ethernet = try object("Device.Ethernet.Interface.{i}.")
        #expect(ethernet.access == .readOnly && ethernet.minEntries == 0 && ethernet.maxEntries == nil)
        for path in ["Device.Hosts.AccessControl.{i}.", "Device.DNS.Zone.{i}.", "Device.DNS.Zone.{i}.Host.{i}."] {
            let table = try object(path)
            #expect(table.access == .readWrite && table.minEntries == 0 && table.maxEntries == nil, "\(path)")
        }
    }

    @Test func treeIsClosed() {
        for path in schema.objects.keys.sorted() where path != "Device." {
            var parent = path.dropLast().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parent.last == "{i}" { parent.removeLast() }
            parent.removeLast()
            let parentPath = parent.joined(separator: ".") + "."
            #expect(schema.object(atTemplate: parentPath) != nil, "\(path): parent \(parentPath) missing")
        }
    }

    @Test func tablesAreConsistent() {
        for (path, object) in schema.objects.sorted(by: { $0.key < $1.key }) {
            #expect(path == object.path)
            let names = object.parameters.map(\.name)
            #expect(Set(names).count == names.count, "\(path): duplicate parameter names")
            for key in object.uniqueKeys {
                for name in key {
                    #expect(names.contains(name), "\(path): unique key names missing \(name)")
                }
            }
            if let maxEntries = object.maxEntries {
                #expect(object.minEntries <= maxEntries, "\(path)")
            }
            if object.isMultiInstance {
                #expect(object.maxEntries != 1 || object.minEntries != 1 || object.numberOfEntriesParameter == nil,
                        "\(path): a counted table limited to one instance")
            }
            guard let counter = object.numberOfEntriesParameter else {
                #expect(!object.isMultiInstance || object.maxEntries != nil, "\(path): unbounded table without a counter")
                continue
            }
            #expect(object.isMultiInstance, "\(path): counter on a single-instance object")
            guard let parameter = schema.parameter(atTemplate: counter) else {
                Issue.record("\(path): \(counter) missing")
                continue
            }
            #expect(parameter.syntax == .unsignedInt([]), "\(counter)")
            #expect(parameter.access == .readOnly, "\(counter)")
        }
    }
}
