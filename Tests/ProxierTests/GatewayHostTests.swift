// The host readers on odd input, and interface writes through the administration hook.
import CWMPClient
import Synchronization
import Testing
@testable import Proxier

@Suite struct GatewayHostParsingTests {
    @Test func processStatCountsFieldsFromTheLastParenthesis() {
        let stat = ProcParsers.processStat(FakeHost.statLine(pid: 42, name: "a (b) c", state: "D", utime: 10, stime: 5, priority: 25, rss: 7))
        #expect(stat?.pid == 42)
        #expect(stat?.name == "a (b) c")
        #expect(stat?.state == "D")
        #expect(stat?.cpuTicks == 15)
        #expect(stat?.priority == 25)
        #expect(stat?.residentPages == 7)
        #expect(ProcParsers.processStat("") == nil)
        #expect(ProcParsers.processStat("42 (x") == nil)
        #expect(ProcParsers.processStat("x (y) R 1 2 3") == nil)
        #expect(ProcParsers.processStat("42 (y) R 1 2 3") == nil, "too few fields")
    }

    @Test func processStatesMapToTR181() {
        let states: [Character: String] = ["R": "Running", "S": "Sleeping", "D": "Uninterruptible", "T": "Stopped", "t": "Stopped",
                                           "Z": "Zombie", "X": "Zombie", "I": "Idle", "?": "Sleeping"]
        for (letter, state) in states { #expect(DeviceInfoProvider.processState(letter) == state) }
    }

    @Test func cpuUsageIsTheBusyShareOfTheInterval() throws {
        let first = try #require(ProcParsers.cpuTimes("cpu  100 0 100 700 100 0 0 0 0 0\n"))
        #expect(first == CPUTimes(busy: 200, total: 1000))
        let second = try #require(ProcParsers.cpuTimes("cpu  400 0 100 800 100 0 0 0 50 0\n"))
        #expect(second.usage(since: first) == 75)
        #expect(second.usage(since: second) == nil)
        #expect(first.usage(since: second) == nil, "counters going backwards")
        #expect(ProcParsers.cpuTimes("cpu0 1 2 3 4\n") == nil, "only the aggregate line counts")
        #expect(ProcParsers.cpuTimes("cpu  18446744073709551615 18446744073709551615 0 0\n") == nil, "overflow")
    }

    @Test func meminfoAndUptimeTolerateGarbage() {
        #expect(ProcParsers.meminfo("MemTotal:  1000 kB\nbad line\nMemAvailable: x kB\n") == ["MemTotal": 1000])
        #expect(ProcParsers.uptimeSeconds("12.99 1.0") == 12)
        #expect(ProcParsers.uptimeSeconds("") == nil)
        #expect(ProcParsers.uptimeSeconds("-5.0 1") == nil)
    }

    @Test func routesAndARP() {
        let route = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
            + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n"
            + "eth1\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
            + "broken\n"
        #expect(ProcParsers.defaultRouteInterfaces(route) == ["eth0"])
        let arp = "IP address HW type Flags HW address Mask Device\n"
            + "10.0.0.2 0x1 0x2 AA:BB:CC:DD:EE:FF * br0\n"
            + "10.0.0.3 0x1 0x2 not-a-mac * br0\n"
            + "10.0.0.4 0x1 zz AA:BB:CC:DD:EE:01 * br0\n"
        #expect(ProcParsers.arpEntries(arp) == [ARPEntry(ipAddress: "10.0.0.2", macAddress: "aa:bb:cc:dd:ee:ff", device: "br0")])
    }

    @Test func rootDataModelVersionIsMajorMinor() {
        #expect(GatewayDeviceProvider.rootDataModelVersion(of: "Device:2.19.1") == "2.19")
        #expect(GatewayDeviceProvider.rootDataModelVersion(of: DataModelSchema.tr181Version) == "2.19")
    }

    @Test func keysOfProxyRowsCannotCollide() {
        #expect(ManagementServerProvider.joinKey(["a/b", "c"]) != ManagementServerProvider.joinKey(["a", "b/c"]))
        #expect(ManagementServerProvider.joinKey(["a%2Fb", "c"]) != ManagementServerProvider.joinKey(["a/b", "c"]))
    }
}

/// Records the changes asked of it.
final class RecordingAdministration: NetworkInterfaceAdministration {
    let calls = Mutex<[String]>([])
    func setEnable(_ enable: Bool, interface: String) async throws { calls.withLock { $0.append("\(interface) enable \(enable)") } }
    func setMaxMTUSize(_ mtu: UInt32, interface: String) async throws { calls.withLock { $0.append("\(interface) mtu \(mtu)") } }
}

@Suite struct GatewayInterfaceTests {
    @Test func withoutAHookOnlyTheCurrentValueMayBeWritten() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths))
        // wan0 is Ethernet.Interface.2 and IP.Interface.3 (name order lan0, lo, wan0).
        _ = try await gateway.model.getParameterValues(["Device.IP.Interface.3.Name", "Device.Ethernet.Interface.2.Name"])
        let status = try await gateway.model.setParameterValues([
            ParameterValueStruct(name: "Device.Ethernet.Interface.2.Enable", value: "true", type: .boolean),
            ParameterValueStruct(name: "Device.IP.Interface.3.MaxMTUSize", value: "1500", type: .unsignedInt),
            ParameterValueStruct(name: "Device.Ethernet.Interface.2.MaxBitRate", value: "-1", type: .int),
        ], parameterKey: "same")
        #expect(status == .applied)
        let refused = await fault {
            try await gateway.model.setParameterValues([
                ParameterValueStruct(name: "Device.Ethernet.Interface.2.Enable", value: "false", type: .boolean),
            ], parameterKey: "down")
        }
        #expect(refused?.code == .requestDenied)
        #expect(try await gateway.model.getParameterValues(["Device.ManagementServer.ParameterKey"]).first?.value == "same")
        let badRate = await fault {
            try await gateway.model.setParameterValues([
                ParameterValueStruct(name: "Device.Ethernet.Interface.2.MaxBitRate", value: "100", type: .int),
            ], parameterKey: "rate")
        }
        #expect(badRate?.setParameterValuesFaults.map(\.faultCode) == [.invalidParameterValue])
    }

    @Test func theHookReceivesRealChanges() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let administration = RecordingAdministration()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths, interfaceAdministration: administration))
        _ = try await gateway.model.getParameterValues(["Device.IP.Interface."])
        _ = try await gateway.model.setParameterValues([
            ParameterValueStruct(name: "Device.IP.Interface.1.Enable", value: "true", type: .boolean),
            ParameterValueStruct(name: "Device.IP.Interface.1.MaxMTUSize", value: "9000", type: .unsignedInt),
            ParameterValueStruct(name: "Device.IP.Interface.3.Enable", value: "true", type: .boolean),
        ], parameterKey: "k")
        #expect(administration.calls.withLock { $0 } == ["lan0 enable true", "lan0 mtu 9000"], "unchanged values are not passed on")
    }

    @Test func aVanishedInterfaceReadsAsNotPresent() async throws {
        let host = try FakeHost()
        defer { host.remove() }
        host.writeTypicalHost()
        let gateway = try await GatewayFixtures.model(hooks: GatewayHooks(paths: host.paths))
        let values = try await gateway.interfaces.values(of: [
            ProviderPath(template: "Device.IP.Interface.{i}.Status", instanceKeys: ["gone0"]),
            ProviderPath(template: "Device.IP.Interface.{i}.Stats.BytesSent", instanceKeys: ["gone0"]),
            ProviderPath(template: "Device.IP.Interface.{i}.Status", instanceKeys: ["../../etc"]),
        ])
        #expect(values == ["NotPresent", "0", "NotPresent"])
    }
}
