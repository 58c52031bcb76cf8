// The snmpd test peer itself: it starts, answers on its own port, and offers what its documentation promises.
import CWMPTestSupport
import Foundation
import Testing

@Suite struct SNMPDaemonPeerTests {
    @Test(.enabled(if: SNMPDaemonPeer.unavailableReason == nil, "snmpd or the net-snmp tools are not installed"))
    func peerAnswersV2cV3AndAcceptsWrites() throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let sysDescr = try peer.tool("snmpget", ["-v2c", "-c", "public", "-On"], ["1.3.6.1.2.1.1.1.0"])
        #expect(sysDescr.status == 0)
        #expect(sysDescr.output.hasPrefix(".1.3.6.1.2.1.1.1.0 = STRING:"))
        let written = try peer.tool("snmpset", ["-v2c", "-c", "private", "-On"],
                                    ["1.3.6.1.2.1.1.4.0", "s", "peer-test@example"])
        #expect(written.status == 0)
        let user = SNMPDaemonPeer.user("sha256-aes-user")
        let readBack = try peer.tool("snmpget", user.cliArguments + ["-On", "-Oqv"], ["1.3.6.1.2.1.1.4.0"])
        #expect(readBack.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\"peer-test@example\"")
        #expect(try peer.walkLines("1.3.6.1.2.1.2.2", bulk: true).count > 0)
    }
}
