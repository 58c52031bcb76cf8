// `cwmp-proxy run` with a `upnp` section, end to end: the daemon discovers the async-upnp-client DM device in a
// network namespace (its SSDP sockets pinned to the veth's root end, named in the configuration), and the ACS test
// peer reads Device.UPnP.Discovery. from the gateway with GetParameterValues.
// Foundation is fine here: tests only.
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: DaemonBinary.isAvailable && UPnPDMPeer.isAvailable && NetworkNamespace.isAvailable,
                             "needs the built cwmp-proxy, python3, the UPnP DM peer and network namespaces"))
struct DaemonUPnPDiscoveryTests {
    @Test func theACSReadsTheDiscoveredDeviceFromTheGateway() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let device = try UPnPDMPeer.device(in: namespace)
        defer { device.stop() }
        let uuid = try #require(device.devices.first?.udn.dropFirst("uuid:".count)).description

        let peer = try ACSPeer()
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        let serial = "UPNPDISCOVERY"
        try "cr-secret-pw\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let configuration = """
            {"acs": {"url": "\(peer.acsURL)", "periodicInformInterval": 3600},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "\(directory)/cr.pw"},
             "gateway": {"manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serial)"},
             "upnp": {"interfaces": ["\(namespace.hostInterface)"], "mx": 1},
             "stateDirectory": "\(directory)/state", "logLevel": "debug"}
            """
        try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["run", "--config", directory + "/config.json"], directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no Inform; log:\n\(daemon.log)")
        #expect(await eventually(10) { daemon.log.contains(uuid) }, "the device was not discovered; log:\n\(daemon.log)")

        try peer.control("POST", "/devices/\(serial)/rpcs",
                         ["method": "GetParameterValues", "names": ["Device.UPnP.Discovery."]] as [String: Any])
        _ = try peer.control("POST", "/devices/\(serial)/connection-request",
                             ["username": "acs", "password": "cr-secret-pw", "timeout": 5])
        let values = await valuesOfLastGetParameterValues(peer, serial)
        #expect(values?["Device.UPnP.Discovery.RootDeviceNumberOfEntries"] as? String == "1", "\(String(describing: values))")
        #expect(values?["Device.UPnP.Discovery.RootDevice.1.UUID"] as? String == uuid)
        #expect(values?["Device.UPnP.Discovery.RootDevice.1.Status"] as? String == "LeaseActive")
        #expect((values?["Device.UPnP.Discovery.RootDevice.1.Location"] as? String)?.hasPrefix("http://\(namespace.namespaceAddress):") == true)

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(daemon.log.contains("SSDP discovery stopped"))
        #expect(!daemon.log.contains("cr-secret-pw"), "a password reached the log")
    }

    /// The `values` of the device's last GetParameterValues response, once it arrived (bounded wait).
    private func valuesOfLastGetParameterValues(_ peer: ACSPeer, _ serial: String) async -> [String: Any]? {
        var values: [String: Any]?
        _ = await eventually(30) {
            let responses = (try? peer.control("GET", "/devices/\(serial)/responses")) as? [[String: Any]] ?? []
            values = responses.last { $0["method"] as? String == "GetParameterValues" }?["values"] as? [String: Any]
            return values != nil
        }
        return values
    }
}
