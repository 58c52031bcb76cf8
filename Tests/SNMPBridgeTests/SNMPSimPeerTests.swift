// snmpsim as a peer beyond one v2c endpoint: a fleet of endpoints from one process, an agent on ::1 through
// SNMPAgent, SNMPv3 users (authPriv), and what a wrong privacy password gives against an agent that reports it.
import CWMPClient
import CWMPTestSupport
import Foundation
import Testing
@testable import SNMPBridge

@Suite(.enabled(if: snmpsimAvailable && snmpdAvailable, snmpsimSkipMessage), .timeLimit(.minutes(2)))
struct SNMPSimPeerTests {
    let switchText: String
    let hostText: String

    init() throws {
        switchText = try SNMPFixture.text("switch")
        hostText = try SNMPFixture.text("host")
    }

    /// 100 endpoints (the engine configuration then goes through snmpsim's argument file), each serving both
    /// recorded devices: every endpoint answers each community with its own device.
    @Test func fleetOfEndpointsFromOneProcess() async throws {
        let peer = try SNMPSimPeer(devices: ["switch": switchText, "host": hostText], endpointCount: 100)
        defer { peer.stop() }
        #expect(Set(peer.ports).count == 100)
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let switchName = try #require(Recording(switchText)["1.3.6.1.2.1.1.5.0"])
        let hostName = try #require(Recording(hostText)["1.3.6.1.2.1.1.5.0"])
        let names = try await withThrowingTaskGroup(of: (Int, SNMPValue, SNMPValue).self) { group in
            for endpoint in peer.ports.indices {
                group.addTask {
                    let switchAnswer = try await manager.session(for: peer.agent("switch", endpoint: endpoint)).get([MIB2.sysName])
                    let hostAnswer = try await manager.session(for: peer.agent("host", endpoint: endpoint)).get([MIB2.sysName])
                    return (endpoint, switchAnswer[0].value, hostAnswer[0].value)
                }
            }
            var all: [Int: (SNMPValue, SNMPValue)] = [:]
            for try await (endpoint, switchValue, hostValue) in group { all[endpoint] = (switchValue, hostValue) }
            return all
        }
        #expect(names.count == 100)
        #expect(names.values.allSatisfy { $0.0 == switchName && $0.1 == hostName })
        #expect(switchName.text == "access-sw-01")
    }

    @Test(.enabled(if: SNMPSimPeer.ipv6LoopbackAvailable, "::1 cannot be bound here"))
    func ipv6AgentEndToEnd() async throws {
        let peer = try SNMPSimPeer(devices: ["switch": switchText], ipv6: true)
        defer { peer.stop() }
        let port = try #require(peer.ipv6Port)
        let manager = SNMPManager()
        defer { manager.shutdown() }
        // The address as an operator writes it, parsed and handed to SNMPAgent.
        let parsed = try SNMPAgent.parseAddress("[::1]:\(port)")
        let agent = SNMPAgent(host: parsed.host, port: parsed.port, credentials: .v2c(community: "switch"), timeout: .seconds(2), retries: 1)
        #expect(agent.host == "::1")
        #expect(agent.description == "v2c [::1]:\(port)")
        let recording = Recording(switchText)
        let session = manager.session(for: agent)
        #expect(try await session.get([MIB2.sysName, MIB2.sysDescr]).map(\.value) == [recording["1.3.6.1.2.1.1.5.0"], recording["1.3.6.1.2.1.1.1.0"]])
        #expect(try await session.walk(oid("1.3.6.1.2.1.31.1.1.1.1")) == recording.subtree("1.3.6.1.2.1.31.1.1.1.1"))
        // Brackets given to the initialiser are the same agent (and the same session).
        #expect(SNMPAgent(host: "[::1]", port: port, credentials: .v2c(community: "switch"), timeout: .seconds(2), retries: 1) == agent)
    }

    static let users = [
        SNMPSimPeer.User("sha-aes", auth: ("SHA", "sim-sha-auth-pass"), priv: ("AES", "sim-aes-priv-pass")),
        SNMPSimPeer.User("sha256-des", auth: ("SHA256", "sim-sha256-auth"), priv: ("DES", "sim-des-priv-pass")),
        SNMPSimPeer.User("md5-auth", auth: ("MD5", "sim-md5-auth-pass")),
    ]

    func v3Agent(_ peer: SNMPSimPeer, _ name: String, auth: (SNMPAuthenticationProtocol, String)?,
                 priv: (SNMPPrivacyProtocol, String)? = nil) -> SNMPAgent {
        // snmpsim serves a device under its community name as SNMPv3 context name.
        let user = SNMPUSMUser(name: name, authentication: auth.map { .init($0.0, password: Secret($0.1)) },
                               privacy: priv.map { .init($0.0, password: Secret($0.1)) }, contextName: "switch")
        return SNMPAgent(host: "127.0.0.1", port: peer.port, credentials: .v3(user), timeout: .seconds(1), retries: 1)
    }

    @Test func snmpV3UsersOfTheSimulator() async throws {
        let peer = try SNMPSimPeer(devices: ["switch": switchText], users: Self.users)
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let recording = Recording(switchText)
        for agent in [v3Agent(peer, "sha-aes", auth: (.sha1, "sim-sha-auth-pass"), priv: (.aes128, "sim-aes-priv-pass")),
                      v3Agent(peer, "sha256-des", auth: (.sha256, "sim-sha256-auth"), priv: (.des, "sim-des-priv-pass")),
                      v3Agent(peer, "md5-auth", auth: (.md5, "sim-md5-auth-pass"))] {
            let session = manager.session(for: agent)
            #expect(try await session.get([MIB2.sysName]).map(\.value) == [recording["1.3.6.1.2.1.1.5.0"]], "\(agent)")
            #expect(try await session.walk(oid("1.3.6.1.2.1.2.2.1.2")) == recording.subtree("1.3.6.1.2.1.2.2.1.2"), "\(agent)")
        }
    }

    /// snmpd sends no report for a message it cannot decrypt (a wrong privacy password is a timeout there, see
    /// SNMPv3Tests); snmpsim (pysnmp) answers with the usmStatsDecryptionErrors report RFC 3414 §3.2 step 8
    /// describes, which net-snmp surfaces as SNMPERR_DECRYPTION_ERR: `decryptionFailure`, at once, and 9002.
    @Test func wrongPrivacyPasswordIsADecryptionFailureWhenTheAgentReportsIt() async throws {
        let peer = try SNMPSimPeer(devices: ["switch": switchText], users: Self.users)
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let wrongPrivacy = await snmpError {
            try await manager.session(for: v3Agent(peer, "sha-aes", auth: (.sha1, "sim-sha-auth-pass"), priv: (.aes128, "wrong-priv-pass")))
                .get([MIB2.sysName])
        }
        #expect(wrongPrivacy?.code == .decryptionFailure)
        #expect(wrongPrivacy?.cwmpFault.code == .internalError)
        #expect(wrongPrivacy.map { !$0.description.contains("wrong-priv-pass") } ?? false)
        let wrongAuthentication = await snmpError {
            try await manager.session(for: v3Agent(peer, "sha-aes", auth: (.sha1, "wrong-auth-pass"), priv: (.aes128, "sim-aes-priv-pass")))
                .get([MIB2.sysName])
        }
        #expect(wrongAuthentication?.code == .authenticationFailure)
        // The right credentials still work on the same manager afterwards.
        let right = manager.session(for: v3Agent(peer, "sha-aes", auth: (.sha1, "sim-sha-auth-pass"), priv: (.aes128, "sim-aes-priv-pass")))
        #expect(try await right.get([MIB2.sysName]).first?.value.text == "access-sw-01")
    }
}

/// Agent addresses as operators write them (pure parsing, no peer).
struct SNMPAgentAddressTests {
    @Test func parsesHostsPortsAndIPv6Literals() throws {
        #expect(try SNMPAgent.parseAddress("192.0.2.10") == ("192.0.2.10", 161))
        #expect(try SNMPAgent.parseAddress("192.0.2.10:1161") == ("192.0.2.10", 1161))
        #expect(try SNMPAgent.parseAddress("switch.example.net:162") == ("switch.example.net", 162))
        #expect(try SNMPAgent.parseAddress("[::1]:1161") == ("::1", 1161))
        #expect(try SNMPAgent.parseAddress("[fe80::1%eth0]") == ("fe80::1%eth0", 161))
        #expect(try SNMPAgent.parseAddress("2001:db8::7") == ("2001:db8::7", 161))
        #expect(try SNMPAgent.parseAddress("10.0.0.1", defaultPort: 1161) == ("10.0.0.1", 1161))
    }

    @Test(arguments: ["", ":161", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:x", "[::1", "[::1]161", "[]:161",
                      "[10.0.0.1]:161", "::1]", "host name"])
    func rejectsMalformedAddresses(_ text: String) {
        #expect(throws: SNMPBridgeError(.invalidArgument, "")) { try SNMPAgent.parseAddress(text) }
    }

    @Test func formatsIPv6InBrackets() {
        let agent = SNMPAgent(host: "::1", port: 1161, credentials: .v2c(community: "secret-community"))
        #expect(agent.address == "[::1]:1161")
        #expect(agent.peerName == "udp6:[::1]:1161")
        #expect(agent.description == "v2c [::1]:1161")
        #expect(SNMPAgent(host: "192.0.2.1", credentials: .v1(community: "c")).description == "v1 192.0.2.1:161")
    }
}
