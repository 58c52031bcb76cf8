// `cwmp-proxy discover --upnp` as a real process against async-upnp-client DM devices (dm_device.py) in a network
// namespace each test creates: the binary searches on the root-side veth address only, and what it prints is checked
// against the devices themselves, read independently with the project's CMS client.
// Foundation is fine here: tests only (for Process and JSONDecoder).
import CWMPTestSupport
import Foundation
import NIOCore
import Testing
import UPnPDM
#if canImport(Glibc)
import Glibc
#endif

/// One finished `cwmp-proxy` run.
struct CLIRun {
    var status: Int32
    var standardOutput: String
    var standardError: String

    /// Runs the built binary with a bounded wait; a run that outlives `timeout` is killed and fails the test.
    static func run(_ arguments: [String], timeout: Double = 90) async throws -> CLIRun {
        let directory = FileManager.default.temporaryDirectory.path
        let id = UUID().uuidString
        let outPath = "\(directory)/cwmp-proxy-cli-\(id).out", errPath = "\(directory)/cwmp-proxy-cli-\(id).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        // Task.sleep, not usleep: parallel tests share a cooperative pool as wide as the machine (2 cores).
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            signalChild(process, SIGKILL)
            process.waitUntilExit()
            Issue.record("cwmp-proxy \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus,
                      standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

private struct DiscoverJSON: Decodable {
    var upnp: [UPnPDMSurveyReport]
}

/// dm_device.py with `count` devices in a fresh namespace; the binary and the test's own clients use the host side.
private struct DiscoverFixture {
    let namespace: NetworkNamespace
    let peer: UPnPDMPeer

    init(count: Int) throws {
        namespace = try NetworkNamespace()
        do {
            peer = try UPnPDMPeer.device(in: namespace, count: count)
        } catch {
            namespace.shutdown()
            throw error
        }
    }

    func shutdown() {
        peer.stop()
        namespace.shutdown()
    }

    /// A CMS client of device `index` made from its description, pinned to the host-side address.
    func cms(_ index: Int) async throws -> ConfigurationManagementClient {
        let http = UPnPHTTPClient(configuration: .init(localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        let description = try await http.fetchDeviceDescription(location: peer.devices[index].location)
        let service = try #require(description.device.service(type: ConfigurationManagementClient.serviceType))
        return ConfigurationManagementClient(invoker: UPnPControlClient(httpClient: http), service: service.endpoint)
    }
}

/// A dotted name or UPnP path with its instance numbers replaced (`Device.IP.Interface.{i}.Name`).
private func template(ofName name: String) -> String {
    name.split(separator: ".", omittingEmptySubsequences: false)
        .map { !$0.isEmpty && $0.allSatisfy(\.isNumber) ? "{i}" : String($0) }.joined(separator: ".")
}

/// Values that change between two reads (dm_device.py computes them on every GetValues).
private let volatileTemplates: Set<String> = ["Device.DeviceInfo.UpTime", "Device.Time.CurrentLocalTime"]

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: DaemonBinary.path), "needs the built cwmp-proxy binary"))
struct DiscoverCommandTests {
    @Test(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
    func jsonListsEveryDeviceWithIdentityServicesAndTheDevicesOwnValues() async throws {
        let fixture = try DiscoverFixture(count: 3)
        defer { fixture.shutdown() }
        let run = try await CLIRun.run(["discover", "--upnp", "--interface", fixture.namespace.hostAddress, "--json"])
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let reports = try JSONDecoder().decode(DiscoverJSON.self, from: Data(run.standardOutput.utf8)).upnp
        #expect(reports.map(\.udn) == fixture.peer.devices.map(\.udn).sorted())

        let mapping = DMPathMapping()
        for (index, device) in fixture.peer.devices.enumerated() {
            let report = try #require(reports.first { $0.udn == device.udn })
            #expect(report.error == nil)
            #expect(report.location == device.location)
            #expect(report.bootId == UInt32(device.bootID))
            #expect(Set(report.services.map(\.serviceType)).isSuperset(of: [
                ConfigurationManagementClient.serviceType, BasicManagementClient.serviceType, SoftwareManagementClient.serviceType,
            ]))
            #expect(report.services.allSatisfy { $0.controlURL.hasPrefix("http://\(fixture.namespace.namespaceAddress):") })

            // The identity is the device's own DeviceInfo, read here with the project's CMS client.
            let cms = try await fixture.cms(index)
            var deviceInfo: [String: String] = [:]
            for entry in try await cms.getValues([DMPathMapping.upnpDeviceInfoLocation]) {
                deviceInfo[String(entry.path.dropFirst(DMPathMapping.upnpDeviceInfoLocation.count))] = entry.value
            }
            let identity = try #require(report.identity)
            #expect(identity.manufacturerOUI == deviceInfo["ManufacturerOUI"])
            #expect(identity.productClass == deviceInfo["ProductClass"])
            #expect(identity.serialNumber == deviceInfo["SerialNumber"])
            #expect(identity.serialNumber == device.serialNumber)
            #expect([identity.source.manufacturerOUI, identity.source.productClass, identity.source.serialNumber] == Array(repeating: "dmDeviceInfo", count: 3))

            // Every parameter printed has the value the device's GetValues gives for the same path. Instance numbers
            // differ (CWMP numbers from 1, the device's are 0-based and sparse), so rows compare as multisets of
            // values per template. NumberOfEntries and Alias are the engine's own.
            var expected: [String: [String]] = [:]
            for entry in try await cms.getValues([mapping.location, DMPathMapping.upnpDeviceInfoLocation]) {
                let structure = entry.path.split(separator: "/", omittingEmptySubsequences: false)
                    .map { !$0.isEmpty && $0.allSatisfy(\.isNumber) ? "#" : String($0) }.joined(separator: "/")
                // /BBF/DeviceInfo/<leaf> is shadowed by /UPnP/DM/DeviceInfo/<leaf> for the identity leaves.
                if entry.path.hasPrefix(mapping.location + "DeviceInfo/"),
                   mapping.upnpDeviceInfoLeaves.contains(String(entry.path.dropFirst((mapping.location + "DeviceInfo/").count))) {
                    continue
                }
                guard let name = mapping.template(ofStructurePath: structure) else { continue }
                expected[name, default: []].append(entry.value)
            }
            // The engine writes booleans canonically (`1` → `true`, TR-106), and owns the ParameterKey.
            var printed: [String: [String]] = [:]
            for parameter in report.parameters where !parameter.name.hasSuffix("NumberOfEntries") && !parameter.name.hasSuffix(".Alias")
                && parameter.name != "Device.ManagementServer.ParameterKey" {
                let value = parameter.type == "boolean" ? (parameter.value == "true" ? "1" : parameter.value == "false" ? "0" : parameter.value)
                    : parameter.value
                printed[template(ofName: parameter.name), default: []].append(value)
            }
            // Only what the proxier's TR-181 schema (the generated subset) knows is exposed: the device's NAT table
            // and Time.NTPServer1 are not in it, so they are not expected.
            for name in ["Device.DeviceInfo.SerialNumber", "Device.DeviceInfo.SoftwareVersion", "Device.IP.Interface.{i}.Name",
                         "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress", "Device.Time.LocalTimeZone", "Device.Time.Enable"] {
                #expect(printed[name] != nil, "\(name) not printed for \(device.udn)")
            }
            #expect(Set(printed.keys).isSubset(of: Set(expected.keys)), "printed but not on the device: \(Set(printed.keys).subtracting(expected.keys))")
            for (name, values) in printed where !volatileTemplates.contains(name) {
                #expect(values.sorted() == (expected[name] ?? []).sorted(), "\(name) of \(device.udn)")
            }
            // Both IP interfaces: every row, not just one.
            #expect(printed["Device.IP.Interface.{i}.Name"]?.sorted() == ["br-lan", "wan0"])
            #expect(report.parameters.contains { $0.name == "Device.IP.Interface.1.Enable" && $0.type == "boolean" })
            #expect(report.parameters.contains { $0.name == "Device.IP.Interface.2.MaxMTUSize" && $0.type == "unsignedInt" })
        }
    }

    @Test(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
    func textOutputHasOneBlockPerDevice() async throws {
        let fixture = try DiscoverFixture(count: 2)
        defer { fixture.shutdown() }
        let run = try await CLIRun.run(["discover", "--upnp", "--interface", fixture.namespace.hostInterface, "--mx", "1"])
        #expect(run.status == 0, "stderr: \(run.standardError)")
        #expect(run.standardOutput.hasPrefix("UPnP DM devices on \(fixture.namespace.hostInterface): 2\n"))
        for device in fixture.peer.devices {
            #expect(run.standardOutput.contains("\n\(device.udn)"))
            #expect(run.standardOutput.contains("  location    \(device.location)\n"))
        }
        #expect(run.standardOutput.contains("    Device.IP.Interface.1.Name = br-lan  [string]\n"))
    }

    /// One device refuses GetSupportedDataModels: its report keeps what was read (services, identity) with the
    /// error, and the other device is complete.
    @Test(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
    func aFailingDeviceShowsItsErrorAndTheOthersStillPrint() async throws {
        let fixture = try DiscoverFixture(count: 2)
        defer { fixture.shutdown() }
        try fixture.peer.fail("GetSupportedDataModels", code: 501, count: 100, device: 1)
        let run = try await CLIRun.run(["discover", "--upnp", "--interface", fixture.namespace.hostAddress, "--json"])
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let reports = try JSONDecoder().decode(DiscoverJSON.self, from: Data(run.standardOutput.utf8)).upnp
        let good = try #require(reports.first { $0.udn == fixture.peer.devices[0].udn })
        let bad = try #require(reports.first { $0.udn == fixture.peer.devices[1].udn })
        #expect(good.error == nil && !good.parameters.isEmpty)
        #expect(bad.error?.contains("501") == true, "\(bad.error ?? "no error")")
        #expect(bad.parameters.isEmpty)
        #expect(bad.identity?.serialNumber == fixture.peer.devices[1].serialNumber)
        #expect(bad.services.count >= 3)
    }

    /// A device that answers SOAP one byte every 2 s is cut off at --device-timeout; its report says so.
    @Test(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
    func aSlowDeviceIsCutOffAtItsDeadline() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.hostile(in: namespace, mode: "slowloris", target: "soap")
        defer { peer.stop() }
        let run = try await CLIRun.run(["discover", "--upnp", "--interface", namespace.hostAddress, "--json", "--mx", "1",
                                  "--device-timeout", "2"], timeout: 60)
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let reports = try JSONDecoder().decode(DiscoverJSON.self, from: Data(run.standardOutput.utf8)).upnp
        let report = try #require(reports.first)
        #expect(reports.count == 1)
        // The command's own deadline (2 s), not the HTTP client's 10 s one.
        #expect(report.error?.contains("was not read within 2") == true, "\(report.error ?? "no error")")
        #expect(!report.services.isEmpty)  // the description was read before the deadline
    }

    @Test func anUnknownInterfaceFailsNamingIt() async throws {
        let name = "nosuch\(getpid() % 10_000)"
        let run = try await CLIRun.run(["discover", "--upnp", "--interface", name, "--json"], timeout: 30)
        #expect(run.status != 0)
        #expect(run.standardError.contains(name))
        #expect(run.standardOutput.isEmpty)
    }

    @Test func withoutAnInterfaceItRefusesToGuess() async throws {
        let run = try await CLIRun.run(["discover", "--upnp"], timeout: 30)
        #expect(run.status != 0)
        #expect(run.standardError.contains("--interface"))
    }
}
