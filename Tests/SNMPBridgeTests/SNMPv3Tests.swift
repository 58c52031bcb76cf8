// SNMPv3 (USM) against a real snmpd: every security level and auth/priv protocol pair Debian's build supports,
// engine-ID discovery, and per-session key isolation despite net-snmp's process-wide user list.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Testing

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage), .timeLimit(.minutes(2)))
struct SNMPv3Tests {
    /// One snmpd for the whole matrix (users are independent of each other).
    @Test func everySecurityLevelAndProtocolPairReadsAndWrites() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        var levels: Set<SNMPUSMUser.SecurityLevel> = []
        for user in SNMPDaemonPeer.users {
            let agent = peer.v3(user)
            guard case .v3(let usm) = agent.credentials else { continue }
            levels.insert(usm.securityLevel)
            let session = manager.session(for: agent)
            let value = "v3 \(user.name) \(UUID().uuidString.prefix(6))"
            do {
                _ = try await session.set([SNMPVarBind(oid: MIB2.sysContact, value: .octetString(Array(value.utf8)))])
                let readBack = try await session.get([MIB2.sysContact])
                #expect(readBack.first?.value.text == value, "\(user.name)")
                // Cross-check with net-snmp's own snmpget as the same user.
                let cli = try peer.tool("snmpget", user.cliArguments + ["-Oqv"], [MIB2.sysContact.description])
                #expect(cli.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\"\(value)\"", "\(user.name)")
                // And a GETBULK walk, which exercises multi-packet sessions under encryption.
                let system = try await session.walk(MIB2.system)
                #expect(system.count >= 8, "\(user.name)")
            } catch {
                Issue.record("\(user.name): \(error)")
            }
        }
        #expect(levels == [.noAuthNoPriv, .authNoPriv, .authPriv])
    }

    /// net-snmp keys its USM user list by (engine ID, user name) for the whole process: without isolation a
    /// session with a wrong password after one with the right password would reuse the right keys and succeed.
    @Test(arguments: ["sha-aes-user", "md5-user", "sha256-des-user"])
    func aWrongPasswordFailsAfterTheRightOneForTheSameUserAndAgent(_ userName: String) async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let user = SNMPDaemonPeer.user(userName)
        let right = manager.session(for: peer.v3(user))
        let wrongAuth = manager.session(for: peer.v3(user, authPassword: "definitely-wrong-auth"))
        #expect(try await right.get([MIB2.sysName]).count == 1)
        let failure = await snmpError { try await wrongAuth.get([MIB2.sysName]) }
        #expect(failure?.code == .authenticationFailure, "\(String(describing: failure))")
        #expect(failure?.reason.contains("definitely-wrong-auth") == false)
        // The right session still works (its keys are put back), then the wrong one still fails.
        #expect(try await right.get([MIB2.sysName]).count == 1)
        #expect(await snmpError { try await wrongAuth.get([MIB2.sysName]) }?.code == .authenticationFailure)
        // Both in flight at once: each gets its own outcome.
        async let good = right.get([MIB2.sysName])
        async let bad = snmpError { try await wrongAuth.get([MIB2.sysName]) }
        #expect(try await good.count == 1)
        #expect(await bad?.code == .authenticationFailure)
        if user.privProtocol != nil {
            // snmpd sends no usmStatsDecryptionErrors report for a message it cannot decrypt (net-snmp's own
            // snmpget times out the same way): a wrong privacy password is a timeout, never a cached success.
            let wrongPriv = manager.session(for: peer.v3(user, privPassword: "definitely-wrong-priv",
                                                         timeout: .milliseconds(300)))
            let privFailure = await snmpError { try await wrongPriv.get([MIB2.sysName]) }
            #expect(privFailure?.code == .timedOut, "\(String(describing: privFailure))")
            #expect(try await right.get([MIB2.sysName]).count == 1)
        }
    }

    /// Many v3 sessions at once, several per (engine, user) with the same and with wrong keys, all interleaved on
    /// the I/O thread: every right one answers, every wrong one fails with an authentication error.
    @Test func manyV3SessionsInFlightKeepTheirOwnKeys() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let users = SNMPDaemonPeer.users.filter { $0.authProtocol != nil }
        // Distinct timeouts make distinct SNMPAgent values, hence distinct net-snmp sessions for the same user.
        var agents: [(SNMPAgent, shouldWork: Bool)] = []
        for (index, user) in users.enumerated() {
            for copy in 0..<4 {
                let timeout = Duration.milliseconds(3_000 + index * 10 + copy)
                agents.append((peer.v3(user, timeout: timeout), true))
            }
            agents.append((peer.v3(user, authPassword: "wrong-auth-\(index)", timeout: .milliseconds(2_999)), false))
        }
        enum Outcome: Hashable { case answered, authenticationFailure, other(String) }
        let outcomes = await withTaskGroup(of: (expected: Outcome, got: Outcome).self) { group in
            for (agent, shouldWork) in agents {
                let session = manager.session(for: agent)
                let expected: Outcome = shouldWork ? .answered : .authenticationFailure
                for _ in 0..<3 {
                    group.addTask {
                        do {
                            let answer = try await session.get([MIB2.sysName, MIB2.sysObjectID])
                            return (expected, answer.count == 2 ? .answered : .other("\(answer)"))
                        } catch let error as SNMPBridgeError where error.code == .authenticationFailure {
                            return (expected, .authenticationFailure)
                        } catch {
                            return (expected, .other("\(error)"))
                        }
                    }
                }
            }
            var outcomes: [(expected: Outcome, got: Outcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == agents.count * 3)
        let wrong = outcomes.filter { $0.expected != $0.got }
        #expect(wrong.isEmpty, "\(wrong.count) unexpected outcomes, e.g. \(String(describing: wrong.first))")
        #expect(outcomes.contains { $0.got == .authenticationFailure } && outcomes.contains { $0.got == .answered })
    }

    @Test func anUnknownUserAndAnUnsupportedLevelAreTypedErrors() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let stranger = peer.agent(.v3(SNMPUSMUser(name: "nobody-here",
                                                   authentication: .init(.sha1, password: "whatever-pass"))))
        let unknown = await snmpError { try await manager.session(for: stranger).get([MIB2.sysName]) }
        #expect(unknown?.code == .unknownUserName, "\(String(describing: unknown))")
        // md5-user has no privacy key at the agent: authPriv is an unsupported level for it.
        let overreaching = peer.agent(.v3(SNMPUSMUser(name: "md5-user",
                                                       authentication: .init(.md5, password: "md5-auth-pass"),
                                                       privacy: .init(.aes128, password: "some-priv-pass"))))
        let error = await snmpError { try await manager.session(for: overreaching).get([MIB2.sysName]) }
        #expect(error?.code == .unsupportedSecurityLevel, "\(String(describing: error))")
    }

    @Test func discoveryOfASilentAgentTimesOutAndIsRetriedLater() async throws {
        let manager = SNMPManager()
        defer { manager.shutdown() }
        // A bound UDP socket that never answers.
        let silent = try SilentUDPSocket()
        let agent = SNMPAgent(host: "127.0.0.1", port: silent.port,
                              credentials: .v3(SNMPUSMUser(name: "x", authentication: .init(.sha256, password: "12345678"))),
                              timeout: .milliseconds(150), retries: 1)
        let session = manager.session(for: agent)
        async let first = snmpError { try await session.get([MIB2.sysName]) }
        async let second = snmpError { try await session.get([MIB2.sysName]) }
        let (firstError, secondError) = await (first, second)
        #expect(firstError?.code == .timedOut, "\(String(describing: firstError))")
        #expect(secondError?.code == .timedOut, "\(String(describing: secondError))")
        // The next request probes again (and times out again): the session is not stuck in "discovering".
        let third = await snmpError { try await session.get([MIB2.sysName]) }
        #expect(third?.code == .timedOut, "\(String(describing: third))")
        #expect(silent.receivedDatagrams() >= 4)
    }
}

/// A UDP socket on 127.0.0.1 that receives and never answers (an agent that is down, or drops our community).
final class SilentUDPSocket: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else {
            close(fd)
            throw PeerUnavailable.notStarted("udp socket")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// How many datagrams arrived so far (drains them).
    func receivedDatagrams() -> Int {
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) >= 0 { count += 1 }
        return count
    }

    deinit { close(fd) }
}
