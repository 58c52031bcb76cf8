// The trap/inform receiver against net-snmp's own senders (`snmptrap`, `snmpinform`, run by the tests) on loopback.
import CWMPClient
import CWMPTestSupport
import Foundation
import Proxier
@testable import SNMPBridge
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

let snmptrapAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/snmptrap")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/snmpinform")
let snmptrapSkipMessage: Comment = "snmptrap/snmpinform (Debian package snmp) are not installed: scripts/install-deps --tests"

/// A locked list shared with escaping closures (a Mutex itself cannot be captured).
final class LockedList<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}

/// Collects what a receiver hands out, so that tests can wait (bounded) for the n-th notification.
final class NotificationCollector: Sendable {
    let receiver: SNMPNotificationReceiver
    private let received = LockedList<SNMPNotification>()
    private let task: Task<Void, Never>

    init(_ receiver: SNMPNotificationReceiver) {
        self.receiver = receiver
        let received = self.received
        task = Task { for await notification in receiver.notifications { received.append(notification) } }
    }

    var all: [SNMPNotification] { received.all }

    /// Waits up to 10 s for at least `count` notifications.
    func wait(for count: Int) async throws -> [SNMPNotification] {
        for _ in 0..<500 where all.count < count { try await Task.sleep(for: .milliseconds(20)) }
        return all
    }

    func close() async {
        await receiver.close()
        task.cancel()
    }
}

/// Runs one of net-snmp's tools hermetically (no MIBs, no host configuration, persistent files in a temporary dir).
func netSNMPTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snmptrap-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var environment = ProcessInfo.processInfo.environment
    environment["MIBS"] = ""
    environment["MIBDIRS"] = "/nonexistent"
    environment["SNMPCONFPATH"] = directory.path
    environment["SNMP_PERSISTENT_DIR"] = directory.path
    return try SNMPDaemonPeer.run("/usr/bin/\(tool)", arguments, environment: environment)
}

private let linkDownVarBinds = ["1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.7.2", "i", "1",
                                "1.3.6.1.2.1.2.2.1.8.2", "i", "2"]

@Suite(.enabled(if: snmptrapAvailable, snmptrapSkipMessage), .timeLimit(.minutes(1)))
struct NotificationReceiverTests {
    @Test func v2cTrapIsDecoded() async throws {
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
        let port = collector.receiver.port
        #expect(port > 0)
        let sent = try netSNMPTool("snmptrap", ["-v", "2c", "-c", "trapcomm", "127.0.0.1:\(port)", "4242",
                                                "1.3.6.1.6.3.1.1.5.3"] + linkDownVarBinds)
        #expect(sent.status == 0)
        let notification = try #require(try await collector.wait(for: 1).first)
        await collector.close()
        #expect(notification.version == .v2c)
        #expect(notification.kind == .trap)
        #expect(notification.sourceHost == "127.0.0.1")
        #expect(notification.community?.revealed == "trapcomm")
        #expect(notification.trapOID == SNMPNotification.linkDown)
        #expect(notification.upTime == 4242)
        #expect(notification.varBinds == [
            SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.1.2")!, value: .integer(2)),
            SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.7.2")!, value: .integer(1)),
            SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.8.2")!, value: .integer(2)),
        ])
        #expect(!"\(notification)".contains("trapcomm"))
    }

    @Test func v1TrapsAreTranslatedPerRFC3584() async throws {
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
        let target = "127.0.0.1:\(collector.receiver.port)"
        // generic-trap 2 (linkDown), then enterpriseSpecific 17 of enterprise 1.3.6.1.4.1.8072.2.3.
        #expect(try netSNMPTool("snmptrap", ["-v", "1", "-c", "public", target, "1.3.6.1.4.1.8072.2.3", "127.0.0.1",
                                             "2", "0", "77", "1.3.6.1.2.1.2.2.1.1.3", "i", "3"]).status == 0)
        #expect(try netSNMPTool("snmptrap", ["-v", "1", "-c", "public", target, "1.3.6.1.4.1.8072.2.3", "127.0.0.1",
                                             "6", "17", "78", "1.3.6.1.2.1.1.5.0", "s", "box"]).status == 0)
        let notifications = try await collector.wait(for: 2)
        await collector.close()
        try #require(notifications.count == 2)
        #expect(notifications[0].version == .v1)
        #expect(notifications[0].trapOID == SNMPNotification.linkDown)
        #expect(notifications[0].upTime == 77)
        #expect(notifications[0].varBinds == [SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.1.3")!, value: .integer(3))])
        #expect(notifications[1].trapOID == SNMPObjectIdentifier("1.3.6.1.4.1.8072.2.3.0.17"))
        #expect(notifications[1].varBinds == [SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")!, value: .octetString(Array("box".utf8)))])
    }

    /// snmpinform exits non-zero unless it gets the Response: a receiver that did not answer fails here.
    @Test func v2cInformIsAnswered() async throws {
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
        let sent = try netSNMPTool("snmpinform", ["-v", "2c", "-c", "public", "-t", "2", "-r", "1",
                                                  "127.0.0.1:\(collector.receiver.port)", "", "1.3.6.1.6.3.1.1.5.4"]
                                                 + linkDownVarBinds)
        #expect(sent.status == 0)
        let notifications = try await collector.wait(for: 1)
        let statistics = await collector.receiver.statistics()
        await collector.close()
        #expect(notifications.first?.kind == .inform)
        #expect(notifications.first?.trapOID == SNMPNotification.linkUp)
        #expect(statistics.informsAnswered >= 1)
    }

    /// A receiver that never answers: snmpinform must fail then (the check above can fail).
    @Test func informToAClosedReceiverFails() async throws {
        let receiver = try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0)
        let port = receiver.port
        await receiver.close()
        let sent = try netSNMPTool("snmpinform", ["-v", "2c", "-c", "public", "-t", "1", "-r", "0",
                                                  "127.0.0.1:\(port)", "", "1.3.6.1.6.3.1.1.5.4"])
        #expect(sent.status != 0)
    }

    @Test func v3AuthPrivTrapAndInform() async throws {
        let engineID: [UInt8] = [0x80, 0x00, 0x1F, 0x88, 0x04, 0x74, 0x72, 0x61, 0x70, 0x01]
        let user = SNMPUSMUser(name: "trapuser", authentication: .init(.sha1, password: "trap-auth-pass"),
                               privacy: .init(.aes128, password: "trap-priv-pass"))
        let informUser = SNMPUSMUser(name: "informuser", authentication: .init(.sha256, password: "inform-auth-pass"),
                                     privacy: .init(.aes128, password: "inform-priv-pass"))
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(
            host: "127.0.0.1", port: 0,
            users: [SNMPNotificationUser(user, engineID: engineID), SNMPNotificationUser(informUser)]))
        let target = "127.0.0.1:\(collector.receiver.port)"
        // A wrong privacy password first: net-snmp cannot decrypt it, nothing is delivered.
        #expect(try netSNMPTool("snmptrap", ["-v", "3", "-e", "0x80001F88047472617001", "-u", "trapuser", "-l", "authPriv",
                                             "-a", "SHA", "-A", "trap-auth-pass", "-x", "AES", "-X", "wrong-priv-pass",
                                             target, "", "1.3.6.1.6.3.1.1.5.3"] + linkDownVarBinds).status == 0)
        #expect(try netSNMPTool("snmptrap", ["-v", "3", "-e", "0x80001F88047472617001", "-u", "trapuser", "-l", "authPriv",
                                             "-a", "SHA", "-A", "trap-auth-pass", "-x", "AES", "-X", "trap-priv-pass",
                                             target, "", "1.3.6.1.6.3.1.1.5.3"] + linkDownVarBinds).status == 0)
        #expect(try netSNMPTool("snmpinform", ["-v", "3", "-u", "informuser", "-l", "authPriv", "-t", "2", "-r", "1",
                                               "-a", "SHA-256", "-A", "inform-auth-pass", "-x", "AES", "-X", "inform-priv-pass",
                                               target, "", "1.3.6.1.6.3.1.1.5.4"]).status == 0)
        let notifications = try await collector.wait(for: 2)
        try await Task.sleep(for: .milliseconds(200))  // a wrongly delivered extra one would show up here
        await collector.close()
        #expect(collector.all.count == 2)
        #expect(notifications.first?.version == .v3)
        #expect(notifications.first?.userName == "trapuser")
        #expect(notifications.first?.trapOID == SNMPNotification.linkDown)
        #expect(notifications.first?.varBinds.count == 3)
        #expect(notifications.dropFirst().first?.kind == .inform)
        #expect(notifications.dropFirst().first?.userName == "informuser")
    }

    /// Datagrams that are no SNMP message at all, or truncated ones: dropped by net-snmp, the receiver keeps working.
    @Test func garbageDatagramsAreDropped() async throws {
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
        let before = await collector.receiver.statistics()
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(collector.receiver.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let garbage: [[UInt8]] = [
            Array("hello, trap port".utf8), [0x30], [0x30, 0x82, 0xFF, 0xFF, 0x02, 0x01, 0x01],
            [0x30, 0x0A, 0x02, 0x01, 0x01, 0x04, 0x03, 0x61, 0x62, 0x63, 0xA7, 0x7F],  // v2c, truncated Trap PDU
            [UInt8](repeating: 0xA7, count: 1400),
        ]
        for datagram in garbage {
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, datagram, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(sent == datagram.count)
        }
        #expect(try netSNMPTool("snmptrap", ["-v", "2c", "-c", "public", "127.0.0.1:\(collector.receiver.port)", "",
                                             "1.3.6.1.6.3.1.1.5.4"]).status == 0)
        let notifications = try await collector.wait(for: 1)
        let after = await collector.receiver.statistics()
        await collector.close()
        #expect(notifications.map(\.trapOID) == [SNMPNotification.linkUp])
        #expect(after.parseErrors > before.parseErrors)
    }

    /// Dispatch by source address: a registered device gets its traps; an unknown source and a wrong community are
    /// dropped and counted. (`--clientaddr` makes snmptrap send from another loopback address.)
    @Test func dispatchBySourceAddress() async throws {
        let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
        let target = "127.0.0.1:\(collector.receiver.port)"
        let dispatcher = SNMPTrapDispatcher()
        let delivered = LockedList<String>()
        dispatcher.register(deviceID: "switch-1", host: "127.0.0.5", accepting: [.communities(["devcomm"])]) { notification in
            delivered.append("switch-1 \(notification.trapOID)")
        }
        #expect(try netSNMPTool("snmptrap", ["--clientaddr=127.0.0.5", "-v", "2c", "-c", "devcomm", target, "",
                                             "1.3.6.1.6.3.1.1.5.3"]).status == 0)
        #expect(try netSNMPTool("snmptrap", ["-v", "2c", "-c", "devcomm", target, "", "1.3.6.1.6.3.1.1.5.4"]).status == 0)
        #expect(try netSNMPTool("snmptrap", ["--clientaddr=127.0.0.5", "-v", "2c", "-c", "other", target, "",
                                             "1.3.6.1.6.3.1.1.5.4"]).status == 0)
        let notifications = try await collector.wait(for: 3)
        await collector.close()
        try #require(notifications.count == 3)
        for notification in notifications { await dispatcher.dispatch(notification) }
        #expect(delivered.all == ["switch-1 1.3.6.1.6.3.1.1.5.3"])
        #expect(dispatcher.counters == SNMPTrapDispatchTable.Counters(delivered: 1, unknownSource: 1, wrongCredentials: 1))
    }

    @Test func v1TrapOIDTranslation() {
        let enterprise = SNMPObjectIdentifier("1.3.6.1.4.1.99")!
        #expect(SNMPNotification.v1TrapOID(enterprise: enterprise, genericTrap: 0, specificTrap: 0) == SNMPObjectIdentifier("1.3.6.1.6.3.1.1.5.1"))
        #expect(SNMPNotification.v1TrapOID(enterprise: enterprise, genericTrap: 3, specificTrap: 0) == SNMPNotification.linkUp)
        #expect(SNMPNotification.v1TrapOID(enterprise: enterprise, genericTrap: 6, specificTrap: 5) == SNMPObjectIdentifier("1.3.6.1.4.1.99.0.5"))
    }
}

/// linkDown for ifIndex N → the parameters of the rows mapped from ifIndex N are re-read and the changed ones
/// reported. The agent is a real snmpd in a namespace of its own (veth lan0/lan1), recorded and served by snmpsim
/// on 127.0.0.1 (ReplayedAgent: the test process cannot reach the namespace's loopback) and read through the real
/// net-snmp client; the trap is a real snmptrap to a real receiver.
@Suite(.enabled(if: snmptrapAvailable && NamespacedSNMPDaemon.unavailableReason == nil,
                "\(NamespacedSNMPDaemon.unavailableReason ?? "snmptrap is not installed")"),
       .enabled(if: snmpsimAvailable, snmpsimSkipMessage), .timeLimit(.minutes(1)))
struct TrapReactionTests {
    @Test func linkDownRereadsTheInterfaceStatus() async throws {
        let profiles = try SNMPBuiltinProfiles.compiled()
        try await NamespacedSNMPDaemon.with(configLines: entityConfig, setUp: { daemon in
            try await addVethPair(daemon, "lan0", "lan1", mac: "00:11:22:33:44:55", address: "10.9.0.1/24")
        }) { daemon in
            let lan0 = try #require(try await daemon.interfaceIndex("lan0"))
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace)
            let reaction = SNMPTrapReaction(provider: provider)
            let status = ProviderPath(template: "Device.Ethernet.Interface.{i}.Status", instanceKeys: ["ifName=lan0"])

            // The first linkUp: everything of lan0's rows is read (no earlier value), lan1 is not touched.
            let up = SNMPNotification(sourceHost: "127.0.0.1", sourcePort: 1, version: .v2c, kind: .trap,
                                      trapOID: SNMPNotification.linkUp,
                                      varBinds: [SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.1.\(lan0)")!, value: .integer(Int32(lan0)))])
            let first = try await reaction.changedParameters(after: up)
            #expect(first.contains(status))
            #expect(first.contains(ProviderPath(template: "Device.IP.Interface.{i}.Status", instanceKeys: ["ifName=lan0"])))
            #expect(first.allSatisfy { $0.instanceKeys == ["ifName=lan0"] })
            #expect(await reaction.lastValue(of: status) == "Up")

            // lan0 goes down; snmpd refreshes its interface cache on its own schedule, so wait (bounded) for it.
            _ = try await daemon.inNamespace(["ip", "link", "set", "lan0", "down"])
            var recorded: [SNMPVarBind] = []
            for _ in 0..<100 {
                recorded = try await daemon.record(recordedRoots)
                if recorded.contains(SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.8.\(lan0)")!, value: .integer(2))) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try replay.load(recorded)

            // The linkDown arrives as a real trap through the receiver and the dispatcher.
            let collector = NotificationCollector(try await SNMPNotificationReceiver.start(host: "127.0.0.1", port: 0))
            let dispatcher = SNMPTrapDispatcher()
            let changed = LockedList<ProviderPath>()
            dispatcher.register(deviceID: daemon.namespace, host: "127.0.0.1", accepting: [.communities(["public"])]) { notification in
                for path in (try? await reaction.changedParameters(after: notification)) ?? [] { changed.append(path) }
            }
            #expect(try netSNMPTool("snmptrap", ["-v", "2c", "-c", "public", "127.0.0.1:\(collector.receiver.port)", "",
                                                 "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.\(lan0)", "i", "\(lan0)",
                                                 "1.3.6.1.2.1.2.2.1.7.\(lan0)", "i", "2", "1.3.6.1.2.1.2.2.1.8.\(lan0)", "i", "2"]).status == 0)
            let notifications = try await collector.wait(for: 1)
            await collector.close()
            let linkDown = try #require(notifications.first)
            #expect(SNMPTrapReaction.affectedInterface(linkDown) == lan0)
            #expect(await dispatcher.dispatch(linkDown) == .device(daemon.namespace))
            #expect(changed.all.contains(status))
            #expect(changed.all.contains(ProviderPath(template: "Device.Ethernet.Interface.{i}.Enable", instanceKeys: ["ifName=lan0"])))
            #expect(!changed.all.contains(ProviderPath(template: "Device.Ethernet.Interface.{i}.Name", instanceKeys: ["ifName=lan0"])))
            #expect(await reaction.lastValue(of: status) == "Down")
            // Nothing moved since: the same trap again reports no change of Status.
            #expect(!(try await reaction.changedParameters(after: linkDown)).contains(status))
        }
    }
}

/// The dispatch table alone: one-line expectations on routes and counters.
struct SNMPTrapDispatchTableTests {
    private func notification(_ host: String, _ version: SNMPNotification.Version, community: String? = nil,
                              user: String? = nil) -> SNMPNotification {
        SNMPNotification(sourceHost: host, sourcePort: 162, version: version, kind: .trap, community: community.map { Secret($0) },
                         userName: user, trapOID: SNMPNotification.linkUp, varBinds: [])
    }

    @Test func routesBySourceAndCredentials() {
        var table = SNMPTrapDispatchTable()
        table.register(deviceID: "a", host: "10.0.0.1", accepting: [.communities(["c1"]), .users(["ops"])])
        table.register(deviceID: "b", host: "10.0.0.2", accepting: [.users(["ops"])])
        #expect(table.route(notification("10.0.0.1", .v2c, community: "c1")) == .device("a"))
        #expect(table.route(notification("10.0.0.1", .v1, community: "c1")) == .device("a"))
        #expect(table.route(notification("10.0.0.1", .v3, user: "ops")) == .device("a"))
        #expect(table.route(notification("10.0.0.2", .v2c, community: "ops")) == .wrongCredentials("b"))
        #expect(table.route(notification("10.0.0.2", .v3, user: "other")) == .wrongCredentials("b"))
        #expect(table.route(notification("10.0.0.3", .v3, user: "ops")) == .unknownSource)
        table.unregister(host: "10.0.0.1")
        #expect(table.route(notification("10.0.0.1", .v2c, community: "c1")) == .unknownSource)
        #expect(table.counters == SNMPTrapDispatchTable.Counters(delivered: 3, unknownSource: 2, wrongCredentials: 2))
    }
}
