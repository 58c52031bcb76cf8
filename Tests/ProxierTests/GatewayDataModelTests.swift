// The gateway's own Device:2 tree on the real Linux host and on a fabricated one.
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import Testing
@testable import Proxier

/// Reads a file with stdio, independently of the code under test.
private func readWithStdio(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var text = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), file) != nil {
        text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return text
}

@Suite struct GatewayDataModelTests {
    @Test func nextLevelNamesTheRootObjectsAndNothingUnserved() async throws {
        let gateway = try await GatewayFixtures.model()
        let names = try await gateway.model.getParameterNames(path: "Device.", nextLevel: true).map(\.name)
        #expect(Set(names) == ["Device.RootDataModelVersion", "Device.DeviceInfo.", "Device.ManagementServer.", "Device.GatewayInfo.",
                               "Device.Time.", "Device.LANConfigSecurity.", "Device.Hosts.", "Device.IP.", "Device.Ethernet."])
        let deviceInfo = try await gateway.model.getParameterNames(path: "Device.DeviceInfo.", nextLevel: true).map(\.name)
        #expect(deviceInfo.contains("Device.DeviceInfo.UpTime"))
        #expect(!deviceInfo.contains("Device.DeviceInfo.ProxierInfo."))
        #expect(await fault { try await gateway.model.getParameterNames(path: "Device.DeviceInfo.ProxierInfo.", nextLevel: true) }?.code
            == .invalidParameterName)
        #expect(await fault { try await gateway.model.getParameterNames(path: "Device.UPnP.", nextLevel: true) }?.code == .invalidParameterName)
    }

    @Test func fullNamesListEveryObjectWithTheRightWritability() async throws {
        let gateway = try await GatewayFixtures.model()
        let infos = try await gateway.model.getParameterNames(path: "Device.", nextLevel: false)
        let writable = Dictionary(infos.map { ($0.name, $0.writable) }, uniquingKeysWith: { first, _ in first })
        #expect(infos.count > 100)
        #expect(writable["Device.ManagementServer.InformParameter."] == true)
        #expect(writable["Device.ManagementServer.EmbeddedDevice."] == false)
        #expect(writable["Device.IP.Interface."] == false, "the host's interfaces cannot be added by the ACS")
        #expect(writable["Device.ManagementServer.URL"] == true)
        #expect(writable["Device.ManagementServer.ConnectionRequestURL"] == false)
        #expect(writable["Device.DeviceInfo.ProvisioningCode"] == true)
        #expect(writable["Device.DeviceInfo.UpTime"] == false)
        #expect(infos.allSatisfy { $0.name.hasPrefix("Device.") })
    }

    @Test func deviceInfoHasLiveValuesOfThisHost() async throws {
        let gateway = try await GatewayFixtures.model()
        let values = try await gateway.model.getParameterValues(["Device.DeviceInfo."])
        #expect(values["Device.DeviceInfo.Manufacturer"] == "Example Networks")
        #expect(values["Device.DeviceInfo.SoftwareVersion"] == "0.1.0-test")
        #expect(values["Device.DeviceInfo.ProvisioningCode"] == "PC1")
        let upTime = try #require(values["Device.DeviceInfo.UpTime"].flatMap { UInt32($0) })
        #expect(upTime > 0)

        let memTotal = readWithStdio("/proc/meminfo").split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.map(String.init)
        #expect(memTotal != nil)
        #expect(values["Device.DeviceInfo.MemoryStatus.Total"] == memTotal)
        let free = try #require(values["Device.DeviceInfo.MemoryStatus.Free"].flatMap { UInt64($0) })
        #expect(free > 0 && free <= UInt64(memTotal ?? "0") ?? 0)
        #expect(values["Device.DeviceInfo.SupportedDataModel.1.URN"] == "urn:broadband-forum-org:tr-181-2-19-1-cwmp")

        // This test's own process is listed with its PID and command line.
        let own = String(getpid())
        let pidEntry = try #require(values.first { $0.name.hasPrefix("Device.DeviceInfo.ProcessStatus.Process.") && $0.name.hasSuffix(".PID")
            && $0.value == own })
        let instance = String(pidEntry.name.dropLast("PID".count))
        let command = try #require(values[instance + "Command"])
        #expect(command.hasPrefix(String(CommandLine.arguments[0].prefix(256))))
        #expect(values[instance + "Size"].flatMap { UInt32($0) }.map { $0 > 0 } == true, "the test process occupies memory")
        #expect(values[instance + "CPUTime"].flatMap { UInt32($0) }.map { $0 > 0 } == true, "and has used CPU time")
        let count = try #require(values["Device.DeviceInfo.ProcessStatus.ProcessNumberOfEntries"].flatMap { Int($0) })
        #expect(count == values.filter { $0.name.hasSuffix(".PID") }.count && count > 1)

        let again = try await gateway.model.getParameterValues(["Device.DeviceInfo.UpTime"])
        #expect(UInt32(again[0].value).map { $0 >= upTime } == true)
    }

    @Test func everyValueOfTheWholeTreePassesTheSchema() async throws {
        let gateway = try await GatewayFixtures.model()
        let values = try await gateway.model.getParameterValues(["Device."])
        #expect(values.count > 100)
        #expect(schemaViolations(values, tree: GatewayDataModel.schema) == [])
    }

    @Test func everyValueOfAFabricatedHostPassesTheSchema() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths, now: { 1_700_000_000 }))
        let values = try await gateway.model.getParameterValues(["Device."])
        #expect(schemaViolations(values, tree: GatewayDataModel.schema) == [])
        #expect(values["Device.Time.CurrentLocalTime"] == "2023-11-14T22:13:20Z")
        #expect(values["Device.Time.Status"] == "Unsynchronized")
        #expect(values["Device.RootDataModelVersion"] == "2.19")
        #expect(values["Device.DeviceInfo.UpTime"] == "5000")
        #expect(values["Device.DeviceInfo.MemoryStatus.Total"] == "2048000")
        #expect(values["Device.DeviceInfo.MemoryStatus.Free"] == "1024000")
        #expect(values["Device.DeviceInfo.ProcessStatus.CPUUsage"] == "20")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.1.Command"] == "/sbin/init splash")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.1.CPUTime"] == String(150 * 1000 / HostConstants.clockTicksPerSecond))
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.1.Size"] == String(300 * HostConstants.pageSize / 1024))
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.1.Priority"] == "20")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.77.Command"] == "kworker/0:1", "kernel threads show their name")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.77.State"] == "Idle")
        // Interfaces are numbered in name order at first listing: lan0, lo, wan0; Ethernet has no loopback.
        #expect(values["Device.IP.InterfaceNumberOfEntries"] == "3")
        #expect(values["Device.Ethernet.InterfaceNumberOfEntries"] == "2")
        #expect(values["Device.IP.Interface.2.Name"] == "lo")
        #expect(values["Device.IP.Interface.2.Type"] == "Loopback")
        #expect(values["Device.IP.Interface.2.Status"] == "Up")
        #expect(values["Device.IP.Interface.2.MaxMTUSize"] == "65535")
        #expect(values["Device.Ethernet.Interface.1.Status"] == "Down")
        #expect(values["Device.Ethernet.Interface.1.Enable"] == "false")
        #expect(values["Device.Ethernet.Interface.2.Upstream"] == "true")
        #expect(values["Device.Ethernet.Interface.2.CurrentBitRate"] == "1000")
        #expect(values["Device.Ethernet.Interface.2.Stats.BytesSent"] == "5000000000")
        #expect(values["Device.Ethernet.Interface.2.Stats.ErrorsSent"] == String(5_000_000_000 % (1 << 32)), "StatsCounter32 wraps")
        // The upstream router is not a LAN host; incomplete ARP entries are not hosts.
        #expect(values["Device.Hosts.HostNumberOfEntries"] == "1")
        #expect(values["Device.Hosts.Host.1.PhysAddress"] == "aa:bb:cc:00:11:22")
        #expect(values["Device.Hosts.Host.1.IPAddress"] == "192.168.1.20")
    }

    @Test func upTimeAndCPUUsageFollowTheHostBetweenReads() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths))
        let names = ["Device.DeviceInfo.UpTime", "Device.DeviceInfo.ProcessStatus.CPUUsage"]
        #expect(try await gateway.model.getParameterValues(names).map(\.value) == ["5000", "20"])
        host.write("proc/uptime", "5060.99 9000.00\n")
        // 100 more busy ticks out of 200: 50 % over the last interval, not the 25 % average since boot.
        host.write("proc/stat", "cpu  150 0 150 900 0 0 0 0 0 0\n")
        #expect(try await gateway.model.getParameterValues(names).map(\.value) == ["5060", "50"])
        // No tick passed: the last result stands instead of a division by zero.
        #expect(try await gateway.model.getParameterValues(names).map(\.value) == ["5060", "50"])
    }

    @Test func hostileHostContentReadsAsZeroValuesNotFaults() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.write("proc/uptime", "garbage\n")
        host.write("proc/meminfo", "MemTotal: lots\nnonsense\n:::\n")
        host.write("proc/stat", "cpu x y z\n")
        host.write("proc/5/stat", "5 (evil) name)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 -51 0 1 0 1 1 99999999999999999 0\n")
        host.write("proc/6/stat", "6 (truncated\n")
        host.write("proc/7/stat", "")
        host.write("proc/net/arp", "header only")
        host.write("proc/net/route", "\0\0\0")
        host.writeInterface("ib0", flags: "zz", operstate: "weird", mtu: "-3", address: "80:00:02:08:fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:01",
                            type: "32", speed: "-1")
        host.writeInterface("eth9", flags: "0x1003", operstate: "up", mtu: "99999999999999999999999", address: "not a mac", type: "1",
                            speed: "99999999999")
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths))
        let values = try await gateway.model.getParameterValues(["Device."])
        #expect(schemaViolations(values, tree: GatewayDataModel.schema) == [])
        #expect(values["Device.DeviceInfo.UpTime"] == "0")
        #expect(values["Device.DeviceInfo.MemoryStatus.Total"] == "0")
        #expect(values["Device.DeviceInfo.ProcessStatus.ProcessNumberOfEntries"] == "1", "only the parseable process is listed")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.5.Command"] == "evil) name)")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.5.Priority"] == "0", "real-time priorities are the highest, 0")
        #expect(values["Device.DeviceInfo.ProcessStatus.Process.5.Size"] == String(UInt32.max), "sizes clamp, they do not wrap")
        #expect(values["Device.Ethernet.Interface.1.MACAddress"] == "")
        #expect(values["Device.Ethernet.Interface.1.CurrentBitRate"] == String(UInt32.max), "bit rates clamp")
        #expect(values["Device.IP.Interface.2.Enable"] == "false")
    }

    @Test func processesAreBoundedAndVanishedOnesDoNotFailReads() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        for pid in 100..<110 { host.write("proc/\(pid)/stat", FakeHost.statLine(pid: pid, name: "worker\(pid)")) }
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths, maximumProcesses: 3))
        let values = try await gateway.model.getParameterValues(["Device.DeviceInfo.ProcessStatus."])
        #expect(values["Device.DeviceInfo.ProcessStatus.ProcessNumberOfEntries"] == "3")
        #expect(values.filter { $0.name.hasSuffix(".PID") }.map(\.value) == ["1", "77", "100"])

        // A process that exits after the listing reads as a zombie instead of failing the RPC.
        let state = try await gateway.deviceInfo.values(of: [
            ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.{i}.State", instanceKeys: ["4000000"]),
            ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.{i}.CPUTime", instanceKeys: ["4000000"]),
        ])
        #expect(state == ["Zombie", "0"])
    }

    @Test func writableDeviceValuesAreStoredAndPublished() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths))
        let changes = gateway.localSettings.changes()
        _ = try await gateway.model.setParameterValues([
            ParameterValueStruct(name: "Device.DeviceInfo.ProvisioningCode", value: "PC2", type: .string),
            ParameterValueStruct(name: "Device.Time.LocalTimeZone", value: "CET-1CEST,M3.5.0/2,M10.5.0/3", type: .string),
            ParameterValueStruct(name: "Device.LANConfigSecurity.ConfigPassword", value: "lan-s3cret", type: .string),
        ], parameterKey: "k1")
        // One change per provider involved: Device. (time zone, password) first, then DeviceInfo (ProvisioningCode).
        let first = try #require(await next(changes))
        #expect(first.configPassword == "lan-s3cret" && first.provisioningCode == "PC1")
        let change = try #require(await next(changes))
        #expect(change.provisioningCode == "PC2")
        #expect(change.configPassword == "lan-s3cret")
        #expect(!String(describing: change).contains("lan-s3cret"))
        let values = try await gateway.model.getParameterValues([
            "Device.DeviceInfo.ProvisioningCode", "Device.Time.LocalTimeZone", "Device.LANConfigSecurity.ConfigPassword",
        ])
        #expect(values.map(\.value) == ["PC2", "CET-1CEST,M3.5.0/2,M10.5.0/3", ""])

        let refused = await fault {
            try await gateway.model.setParameterValues([
                ParameterValueStruct(name: "Device.Time.LocalTimeZone", value: "Europe Berlin", type: .string),
            ], parameterKey: "k2")
        }
        #expect(refused?.code == .invalidArguments)
        #expect(refused?.setParameterValuesFaults.map(\.faultCode) == [.invalidParameterValue])
        #expect(gateway.localSettings.current.localTimeZone == "CET-1CEST,M3.5.0/2,M10.5.0/3")
    }

    @Test func identityIsCheckedAgainstTheSchemaAtBuildTime() async throws {
        var identity = GatewayFixtures.identity
        identity.manufacturerOUI = "00d09e"
        let error = await fault { try await makeGatewayDataModel(identity: identity, settings: GatewayFixtures.settings) }
        #expect(error?.code == .invalidParameterValue)
    }
}
