// SNMP discovery against a real snmpd (SNMPDaemonPeer on 127.0.0.1) and a /24 of unanswered loopback addresses.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Testing

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage), .timeLimit(.minutes(1)))
struct SNMPDiscoveryTests {
    @Test func cidrAddresses() throws {
        let block = try SNMPDiscovery.addresses(inCIDR: "127.77.0.0/24")
        #expect(block.count == 254)
        #expect(block.first == "127.77.0.1")
        #expect(block.last == "127.77.0.254")
        #expect(try SNMPDiscovery.addresses(inCIDR: "10.0.0.5/32") == ["10.0.0.5"])
        #expect(throws: SNMPBridgeError.self) { try SNMPDiscovery.addresses(inCIDR: "10.0.0.0/8") }
        #expect(throws: SNMPBridgeError.self) { try SNMPDiscovery.addresses(inCIDR: "example.net/24") }
    }

    /// A configured host plus a /24 nobody answers on; a wrong community is tried first, then the right one.
    /// The sweep's duration is printed (measured, not asserted: 254 addresses × 0.5 s / 128 at a time ≈ 1 s).
    @Test func sweepFindsTheOneAgentWithTheSecondCommunity() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let discovery = SNMPDiscovery(credentials: [.v2c(community: "not-this-one"), .v2c(community: "public")],
                                      profiles: try SNMPBuiltinProfiles.compiled())
        let targets = [(host: "127.0.0.1", port: peer.port)]
            + (try SNMPDiscovery.addresses(inCIDR: "127.77.0.0/24")).map { (host: $0, port: peer.port) }
        let start = ContinuousClock.now
        let found = await discovery.discover(targets, using: manager)
        let elapsed = ContinuousClock.now - start
        print("SNMP discovery: \(targets.count) addresses (1 answering, 2 communities) in \(elapsed)")
        try #require(found.count == 1)
        #expect(found[0].agent.host == "127.0.0.1")
        #expect(found[0].agent.credentials == .v2c(community: "public"))
        let lines = try peer.walkLines("1.3.6.1.2.1.1")
        let sysName = try #require(lines.first { $0.oid == "1.3.6.1.2.1.1.5.0" }?.value)
        #expect(sysName.contains(found[0].sysName) && !found[0].sysName.isEmpty)
        #expect(found[0].sysObjectID != nil)
        #expect(found[0].profiles.contains("snmpv2-system"))
        #expect(found[0].profiles.contains("if-mib"))
    }

    @Test func v3CredentialsInOrder() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        guard case .v3(let right) = peer.v3(SNMPDaemonPeer.user("sha-aes-user")).credentials,
              case .v3(let wrong) = peer.v3(SNMPDaemonPeer.user("sha-aes-user"), authPassword: "wrong-auth-pass").credentials
        else { Issue.record("no v3 user"); return }
        let discovery = SNMPDiscovery(credentials: [.v3(wrong), .v3(right)], profiles: try SNMPBuiltinProfiles.compiled())
        let found = try #require(await discovery.probe(host: "127.0.0.1", port: peer.port, using: manager))
        #expect(found.agent.credentials == .v3(right))
        let nothing = await SNMPDiscovery(credentials: [.v3(wrong)], profiles: []).probe(host: "127.0.0.1", port: peer.port, using: manager)
        #expect(nothing == nil)
    }
}
