// Issue 3's remaining agent gaps, against the real ACS peer and the real store: pending value changes survive a
// SIGKILL and are reported exactly once (schema version 6), and an RPC whose changes the store refuses answers
// 9002 and is rolled back (TR-181 ParameterKey: "if and only if the method completes successfully").
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Synchronization
import Testing
@testable import Proxier

/// A transport that never reaches an ACS: every session fails at once (the crash child's sessions).
struct UnreachableTransport: ACSTransport {
    struct Refused: Error {}
    func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession { throw Refused() }
}

@Suite("Agent gaps: persisted value changes, store failures")
struct AgentGapsTests {
    static let localTimeZone = "Device.Time.LocalTimeZone"
    static let upTime = "Device.DeviceInfo.UpTime"

    private func startPeer() throws -> ACSPeer {
        try ACSPeer(arguments: ["--max-sessions", "1000"])
    }

    private func parameters(_ inform: [String: Any]?) -> [String: Any] { inform?["parameters"] as? [String: Any] ?? [:] }

    private func responses(_ peer: ACSPeer) throws -> [[String: Any]] {
        try peer.control("GET", "/devices/\(AgentHarness.deviceID)/responses") as? [[String: Any]] ?? []
    }

    // MARK: Store (schema version 6)

    @Test func pendingValueChangesAreStoredReplacedRemovedAndCascaded() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gw")
                try await store.apply([.setValueChange(path: "Device.A", notification: 1),
                                       .setValueChange(path: "Device.B", notification: 2)], to: "gw")
                try await store.apply([.setValueChange(path: "Device.A", notification: 2),
                                       .removeValueChange(path: "Device.B")], to: "gw")
                #expect(try await store.load("gw")?.pendingValueChanges == ["Device.A": 2])
                await expectProxierError(.invalidValue) {
                    try await store.apply([.setValueChange(path: "Device.C", notification: 0)], to: "gw")
                }
                let early = StoredScheduledInform(dueMilliseconds: 1_000, commandKey: "s")
                try await store.apply([.addScheduledInform(early), .addScheduledInform(early),
                                       .addScheduledInform(StoredScheduledInform(dueMilliseconds: 500, commandKey: "t"))],
                                      to: "gw")
                try await store.apply([.removeScheduledInform(early)], to: "gw")
                #expect(try await store.load("gw")?.scheduledInforms
                        == [early, StoredScheduledInform(dueMilliseconds: 500, commandKey: "t")])
                try await store.removeAgent("gw")
                #expect(try await store.rawQuery("SELECT count(*) AS n FROM pending_value_changes").first?["n"] == "0")
                #expect(try await store.rawQuery("SELECT count(*) AS n FROM scheduled_informs").first?["n"] == "0")
            }
        }
    }

    @Test func aVersion5DatabaseIsMigratedTo6AndKeepsItsData() async throws {
        try await withTemporaryStateDirectory { directory in
            let store = try await AgentStore.open(directory: directory, durability: .processCrash, logger: .init(label: "test"),
                                                  migrations: Array(AgentStoreSchema.migrations.prefix(5)))
            try await store.createAgent("gw")
            try await store.apply([.setParameterKey("pk-5"), .appendEvent(code: "M Reboot", commandKey: "r")], to: "gw")
            await expectProxierError(.storeFailure) { try await store.rawQuery("SELECT count(*) FROM pending_value_changes") }
            try await store.close()
            try await withStore(in: directory) { store throws in
                #expect(try await store.recordedSchemaVersions() == [1, 2, 3, 4, 5, 6])
                try await store.apply([.setValueChange(path: "Device.A", notification: 1)], to: "gw")
                let snapshot = try #require(try await store.load("gw"))
                #expect(snapshot.parameterKey == "pk-5" && snapshot.pendingEvents.map(\.code) == ["M Reboot"])
                #expect(snapshot.pendingValueChanges == ["Device.A": 1])
            }
        }
    }

    /// The Inform's events as the agent builds them from one store read: `M` codes once per CommandKey, single codes
    /// once, BOOTSTRAP and BOOT first, and the acknowledgment covering every row read (duplicates included).
    @Test func theInformFromTheStoreKeepsEachCommandKeyAndMergesSingleCodes() {
        let rows = [PendingEvent(sequence: 3, code: "7 TRANSFER COMPLETE"), PendingEvent(sequence: 4, code: "M Download", commandKey: "dl-a"),
                    PendingEvent(sequence: 5, code: "1 BOOT"), PendingEvent(sequence: 6, code: "7 TRANSFER COMPLETE"),
                    PendingEvent(sequence: 7, code: "M Download", commandKey: "dl-b"),
                    PendingEvent(sequence: 8, code: "M Download", commandKey: "dl-a")]
        var record = CWMPAgent.InformRecord()
        let events = CWMPAgent.informEvents(from: rows, heartbeatOnly: false, record: &record)
        #expect(events == [EventStruct(eventCode: "1 BOOT"), EventStruct(eventCode: "7 TRANSFER COMPLETE"),
                           EventStruct(eventCode: "M Download", commandKey: "dl-a"),
                           EventStruct(eventCode: "M Download", commandKey: "dl-b")])
        #expect(record.highestSequence == 8)
    }

    // MARK: kill -9

    /// The child records an active change (LocalTimeZone, Notification 2) and a passive one (UpTime, 1) while its
    /// ACS is unreachable, and is killed once they are in the store. The next start reports them, with the values
    /// the parameters have then, in its first Inform (`1 BOOT` + `4 VALUE CHANGE`), and never again.
    @Test("value changes not yet in an acknowledged Inform survive a SIGKILL and are reported exactly once",
          .requiresACSPeer)
    func valueChangesSurviveSIGKILL() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            // The child informs the peer's URL (so the restart is no BOOTSTRAP) through a transport that never gets there.
            let urlFile = directory + ".acs-url"
            try peer.acsURL.write(toFile: urlFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: urlFile) }
            let lines = try await CrashChild.run(mode: .valueChangesThenHang, directory: directory) { lines in
                lines.contains("RECORDED")
            }
            #expect(lines.contains("RECORDED"))
            try await withStore(in: directory) { store in
                let snapshot = try #require(try await store.load(AgentHarness.agentID))
                #expect(snapshot.pendingValueChanges == [Self.localTimeZone: 2, Self.upTime: 1])
                #expect(snapshot.bootstrappedACSURL == peer.acsURL)
            }

            let second = try await AgentHarness.make(peer: peer, directory: directory)
            try await second.agent.start()
            #expect(await second.sessions(1))
            #expect(await second.agent.lastOutcome?.succeeded == true)
            let inform = peer.lastInform(AgentHarness.deviceID)
            #expect(peer.eventCodes(inform) == ["1 BOOT", "4 VALUE CHANGE"])
            // Their values now (this process never changed them: only the store said they are owed).
            let now = try await second.gateway.model.getParameterValues([Self.localTimeZone])
            #expect(parameters(inform)[Self.localTimeZone] as? String == now.first?.value)
            #expect(parameters(inform)[Self.upTime] != nil)
            #expect(await second.agent.pendingValueChanges.isEmpty)
            #expect(try await second.store.load(AgentHarness.agentID)?.pendingValueChanges == [:])

            // Exactly once: not in the next session, not after another restart.
            #expect(try second.connectionRequest()["status"] as? Int == 200)
            #expect(await second.sessions(2))
            let next = peer.lastInform(AgentHarness.deviceID)
            #expect(peer.eventCodes(next) == ["6 CONNECTION REQUEST"])
            #expect(parameters(next)[Self.upTime] == nil)
            await second.stopKeepingPeer()

            let third = try await AgentHarness.make(peer: peer, directory: directory)
            try await third.agent.start()
            #expect(await third.sessions(1))
            // This harness listens for Connection Requests on a new port: its new ConnectionRequestURL is a value
            // change of its own (AgentValueChangeTests); the two changes from before the kill are not reported again.
            let last = peer.lastInform(AgentHarness.deviceID)
            #expect(parameters(last)[Self.upTime] == nil)
            #expect(parameters(last)[Self.localTimeZone] == nil)
            #expect(!peer.eventCodes(last).contains("0 BOOTSTRAP"))
            #expect(peer.informCount(AgentHarness.deviceID) == 3)
            await third.stopKeepingPeer()
        }
    }

    /// The parameter changes again after the Inform read its value and before the InformResponse: the ACS has seen
    /// the older value only, so the change stays pending and the next Inform reports the newer one.
    @Test("a change made while its Inform is in flight is reported again with the newer value", .requiresACSPeer)
    func aChangeDuringTheInformIsNotAcknowledgedByIt() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let first = "CET-1CEST,M3.5.0,M10.5.0/3", second = "EST+5EDT,M3.2.0/2,M11.1.0/2"
        let gatewayBox = Mutex<GatewayDataModel?>(nil)
        let informs = Mutex<[String]>([])
        let transport = ObservingTransport(inner: NIOACSTransport()) { body in
            let text = String(decoding: body, as: UTF8.self)
            guard text.contains("4 VALUE CHANGE") else { return }
            let count = informs.withLock { $0.append(text); return $0.count }
            // The Inform is built (its values read); change the parameter before it goes out.
            if count == 1, let gateway = gatewayBox.withLock({ $0 }) {
                _ = try? await gateway.model.setParameterValues(
                    [ParameterValueStruct(name: Self.localTimeZone, value: second)], parameterKey: "", origin: .cpe)
            }
        }
        let harness = try await AgentHarness.make(peer: peer, transport: transport)
        gatewayBox.withLock { $0 = harness.gateway }
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.gateway.model.setParameterAttributes([
            SetParameterAttributesStruct(name: Self.localTimeZone, notificationChange: true, notification: .active,
                                         accessListChange: false, accessList: []),
        ])
        _ = try await harness.gateway.model.setParameterValues(
            [ParameterValueStruct(name: Self.localTimeZone, value: first)], parameterKey: "", origin: .cpe)
        #expect(await harness.sessions(3))
        let sent = informs.withLock { $0 }
        #expect(sent.count == 2)
        #expect(sent.first?.contains(first) == true)
        #expect(parameters(peer.lastInform(AgentHarness.deviceID))[Self.localTimeZone] as? String == second)
        #expect(await eventually(30) { await harness.agent.pendingValueChanges.isEmpty })
        #expect(try await harness.store.load(AgentHarness.agentID)?.pendingValueChanges == [:])
        await harness.shutdown()
    }

    /// A new ACS URL: BOOTSTRAP discards `4 VALUE CHANGE`, and with the event its parameters (docs/agent-events.md),
    /// in memory and in the store.
    @Test("a new ACS URL voids the pending value changes", .requiresACSPeer)
    func aNewACSURLVoidsPendingValueChanges() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.gateway.model.setParameterAttributes([
            SetParameterAttributesStruct(name: Self.localTimeZone, notificationChange: true, notification: .passive,
                                         accessListChange: false, accessList: []),
        ])
        _ = try await harness.gateway.model.setParameterValues(
            [ParameterValueStruct(name: Self.localTimeZone, value: "CET-1CEST,M3.5.0,M10.5.0/3")], parameterKey: "",
            origin: .cpe)
        #expect(await eventually(30) {
            (try? await harness.store.load(AgentHarness.agentID)?.pendingValueChanges) == [Self.localTimeZone: 1]
        })
        // Nothing listens there: the BOOTSTRAP session fails and waits, which does not matter here.
        try await harness.gateway.managementServer.update { $0.url = "http://127.0.0.1:9/acs" }
        #expect(await eventually(30) {
            let stored = try? await harness.store.load(AgentHarness.agentID)
            return stored?.pendingValueChanges == [:] && stored?.pendingEvents.contains { $0.code == "0 BOOTSTRAP" } == true
        })
        #expect(await harness.agent.pendingValueChanges.isEmpty)
        await harness.shutdown()
    }

    /// DefaultActiveNotificationThrottle set in the configuration reaches the agent: an active change right after a
    /// session waits the throttle (the manual clock stands still, so the deadline is exact), then goes.
    @Test("DefaultActiveNotificationThrottle delays a session whose only reason is an active notification",
          .requiresACSPeer)
    func activeNotificationThrottle() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let settings = ManagementServerSettings(url: peer.acsURL, periodicInformEnable: true, periodicInformInterval: 86_400,
                                                connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret",
                                                defaultActiveNotificationThrottle: 1800)
        let harness = try await AgentHarness.make(peer: peer, settings: settings)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.gateway.model.setParameterAttributes([
            SetParameterAttributesStruct(name: Self.localTimeZone, notificationChange: true, notification: .active,
                                         accessListChange: false, accessList: []),
        ])
        _ = try await harness.gateway.model.setParameterValues(
            [ParameterValueStruct(name: Self.localTimeZone, value: "CET-1CEST,M3.5.0,M10.5.0/3")], parameterKey: "",
            origin: .cpe)
        let throttled = harness.clock.now().advanced(by: .seconds(1800))
        #expect(await eventually(30) { harness.agent.armedDeadline == throttled })
        #expect(await harness.agent.sessionsEnded == 1)
        harness.clock.advance(by: .seconds(1800))
        #expect(await harness.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["4 VALUE CHANGE"])
        await harness.shutdown()
    }

    /// A ScheduleInform accepted before a restart still fires after it: the agent stops (nothing more is written at
    /// stop than a kill -9 would leave) and a new one on the same store reports `3 SCHEDULED` + `M ScheduleInform`
    /// when the delay has passed, once.
    @Test("a ScheduleInform not yet due survives a restart and fires once", .requiresACSPeer)
    func scheduledInformSurvivesARestart() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let clock = ManualAgentClock()
            let first = try await AgentHarness.make(peer: peer, directory: directory, clock: clock)
            try await first.agent.start()
            #expect(await first.sessions(1))
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                             ["method": "ScheduleInform", "delay_seconds": 600, "command_key": "sched-1"])
            #expect(try first.connectionRequest()["status"] as? Int == 200)
            #expect(await first.sessions(2))
            #expect(try await first.store.load(AgentHarness.agentID)?.scheduledInforms.map(\.commandKey) == ["sched-1"])
            await first.stopKeepingPeer()

            let second = try await AgentHarness.make(peer: peer, directory: directory, clock: clock)
            try await second.agent.start()
            #expect(await second.sessions(1))
            #expect(!peer.eventCodes(peer.lastInform(AgentHarness.deviceID)).contains("3 SCHEDULED"))
            clock.advance(by: .seconds(600))
            #expect(await second.sessions(2))
            let inform = peer.lastInform(AgentHarness.deviceID)
            let events = inform?["events"] as? [[String: Any]] ?? []
            #expect(peer.eventCodes(inform).contains("3 SCHEDULED"))
            #expect(events.contains { $0["code"] as? String == "M ScheduleInform" && $0["command_key"] as? String == "sched-1" })
            #expect(try await second.store.load(AgentHarness.agentID)?.scheduledInforms == [])
            await second.stopKeepingPeer()
        }
    }

    /// The child's first session: the peer serves a ScheduleInform (DelaySeconds 600), records the
    /// ScheduleInformResponse and holds its answer to it (the next RPC, a GetParameterValues) for 60 s, so the
    /// session is still open when the child is killed. The ScheduleInform was stored before its response went out: the next start reports `3 SCHEDULED` +
    /// `M ScheduleInform` with its CommandKey when the delay has passed, and never again.
    @Test("a ScheduleInform answered in a session killed before its end fires after the restart, once",
          .requiresACSPeer)
    func scheduledInformSurvivesSIGKILLMidSession() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let urlFile = directory + ".acs-url"
            try peer.acsURL.write(toFile: urlFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: urlFile) }
            let key = ScheduleInformCrashChild.commandKey
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                             ["method": "ScheduleInform", "delay_seconds": 600, "command_key": key])
            // A GetParameterValues waits behind it, so the session has more to do when the child dies.
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                             ["method": "GetParameterValues", "names": [Self.upTime]])
            try peer.control("POST", "/inject", ["delay_on": "response", "delay_count": 1, "delay_seconds": 60])
            let responsesPath = "/devices/\(AgentHarness.deviceID)/responses"
            let lines = try await CrashChild.run(mode: .scheduleInformThenHang, directory: directory) { lines in
                guard lines.contains("SENDING") else { return false }
                // Killed once the peer has the response (it was sent), while the peer still holds the session.
                for _ in 0..<1000 {
                    let answered = (try? peer.control("GET", responsesPath)) as? [[String: Any]] ?? []
                    if answered.contains(where: { $0["response_method"] as? String == "ScheduleInformResponse" }) { break }
                    usleep(10_000)
                }
                return true
            }
            #expect(lines.contains("STARTED") && lines.contains("SENDING"))
            #expect(try responses(peer).map { $0["response_method"] as? String } == ["ScheduleInformResponse"])
            // Mid-session: the peer has not answered the ScheduleInformResponse yet (its GetParameterValues is still to
            // come), so the session never ended.
            #expect(peer.device(AgentHarness.deviceID)?["in_session"] as? Bool == true)
            try await withStore(in: directory) { store in
                let snapshot = try #require(try await store.load(AgentHarness.agentID))
                #expect(snapshot.scheduledInforms.map(\.commandKey) == [key])
            }

            let clock = ManualAgentClock()
            let second = try await AgentHarness.make(peer: peer, directory: directory, clock: clock)
            try await second.agent.start()
            #expect(await second.sessions(1))
            #expect(!peer.eventCodes(peer.lastInform(AgentHarness.deviceID)).contains("3 SCHEDULED"))
            clock.advance(by: .seconds(600))
            #expect(await second.sessions(2))
            let inform = peer.lastInform(AgentHarness.deviceID)
            let events = inform?["events"] as? [[String: Any]] ?? []
            #expect(peer.eventCodes(inform).filter { $0 == "3 SCHEDULED" }.count == 1)
            #expect(events.filter { $0["code"] as? String == "M ScheduleInform" }.map { $0["command_key"] as? String } == [key])
            #expect(try await second.store.load(AgentHarness.agentID)?.scheduledInforms == [])

            // Exactly once: not in the next session, not after another restart.
            #expect(try second.connectionRequest()["status"] as? Int == 200)
            #expect(await second.sessions(3))
            #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
            await second.stopKeepingPeer()

            let third = try await AgentHarness.make(peer: peer, directory: directory, clock: clock)
            try await third.agent.start()
            #expect(await third.sessions(1))
            let codes = peer.eventCodes(peer.lastInform(AgentHarness.deviceID))
            #expect(!codes.contains("3 SCHEDULED") && !codes.contains("M ScheduleInform"))
            #expect(try await third.store.load(AgentHarness.agentID)?.scheduledInforms == [])
            await third.stopKeepingPeer()
        }
    }

    // MARK: Store failures

    /// The store refuses the scheduled_informs row: the ScheduleInform is answered 9002 and is not scheduled (in
    /// the store or in the agent's timer); once the store works again the same RPC is stored and fires.
    @Test("a ScheduleInform that cannot be stored answers 9002 and schedules nothing", .requiresACSPeer)
    func scheduleInformRefusedWhenTheStoreFails() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.store.rawQuery("""
            CREATE TRIGGER inject_store_failure BEFORE INSERT ON scheduled_informs
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END
            """)
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "ScheduleInform", "delay_seconds": 600, "command_key": "sched-refused"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let refused = try #require(try responses(peer).last)
        #expect(refused["response_method"] as? String == "Fault")
        #expect((refused["fault"] as? [String: Any])?["code"] as? Int == 9002)
        // The manual clock stands still: the scheduled instant would be now + 600 s; the timer waits for the periodic
        // inform (3600 s) instead.
        let due = harness.clock.now().advanced(by: .seconds(600))
        #expect(harness.agent.armedDeadline.map { $0 > due } == true)
        #expect(try await harness.store.load(AgentHarness.agentID)?.scheduledInforms == [])

        try await harness.store.rawQuery("DROP TRIGGER inject_store_failure")
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "ScheduleInform", "delay_seconds": 600, "command_key": "sched-stored"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(3))
        #expect(try responses(peer).last?["response_method"] as? String == "ScheduleInformResponse")
        #expect(try await harness.store.load(AgentHarness.agentID)?.scheduledInforms.map(\.commandKey) == ["sched-stored"])
        #expect(harness.agent.armedDeadline == due)
        harness.clock.advance(by: .seconds(600))
        #expect(await harness.sessions(4))
        let events = peer.lastInform(AgentHarness.deviceID)?["events"] as? [[String: Any]] ?? []
        #expect(events.filter { $0["code"] as? String == "M ScheduleInform" }.map { $0["command_key"] as? String }
                == ["sched-stored"])
        await harness.shutdown()
    }

    /// The store refuses the ParameterKey (a trigger makes SQLite abort the UPDATE, as a full or broken database
    /// would): the SetParameterValues is answered with 9002, ParameterKey and the value are as before in memory
    /// and in the store; once the store works again the same RPC succeeds.
    @Test("a SetParameterValues whose changes cannot be stored answers 9002 and changes nothing", .requiresACSPeer)
    func setParameterValuesRolledBackWhenTheStoreFails() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let record = try makeTemporaryStateDirectory() + "-record"
        defer { try? FileManager.default.removeItem(atPath: record) }
        try peer.control("POST", "/record", ["dir": record])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let before = await harness.gateway.managementServer.settings.periodicInformInterval
        #expect(before == 3600)

        try await harness.store.rawQuery("""
            CREATE TRIGGER inject_store_failure BEFORE UPDATE OF parameter_key ON agents
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END
            """)
        let spv: [String: Any] = ["method": "SetParameterValues", "parameter_key": "pk-77",
                                  "values": [["name": "Device.ManagementServer.PeriodicInformInterval", "value": 77,
                                              "type": "unsignedInt"]]]
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", spv)
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let refused = try #require(try responses(peer).last)
        #expect(refused["response_method"] as? String == "Fault")
        #expect((refused["fault"] as? [String: Any])?["code"] as? Int == 9002)
        #expect(await harness.gateway.model.parameterKey == "")
        #expect(await harness.gateway.managementServer.settings.periodicInformInterval == before)
        let stored = try #require(try await harness.store.load(AgentHarness.agentID))
        #expect(stored.parameterKey == "")
        #expect(stored.parameterValues["Device.ManagementServer.PeriodicInformInterval"] == nil)

        try await harness.store.rawQuery("DROP TRIGGER inject_store_failure")
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", spv)
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(3))
        let accepted = try #require(try responses(peer).last)
        #expect(accepted["response_method"] as? String == "SetParameterValuesResponse")
        #expect(await harness.gateway.model.parameterKey == "pk-77")
        #expect(await harness.gateway.managementServer.settings.periodicInformInterval == 77)
        let after = try #require(try await harness.store.load(AgentHarness.agentID))
        #expect(after.parameterKey == "pk-77")
        #expect(after.parameterValues["Device.ManagementServer.PeriodicInformInterval"]?.value == "77")
        await harness.shutdown()

        // Every envelope the agent sent, the 9002 fault included, validates against the CWMP XSDs.
        guard XSDValidator.isAvailable else {
            recordXSDValidationSkipped("envelopes")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: record).filter { $0.contains("-cpe-") }.sorted()
        let documents = try names.map { name in
            (name: name, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: record + "/" + name))))
        }
        #expect(documents.contains { String(decoding: $0.bytes, as: UTF8.self).contains("<FaultCode>9002</FaultCode>") })
        let failures = try XSDValidator.validate(documents)
        #expect(failures.isEmpty, "\(failures)")
    }

    /// A SetParameterAttributes whose attribute cannot be stored: 9002, and the Notification stays as it was.
    @Test("a SetParameterAttributes whose attribute cannot be stored answers 9002 and changes nothing",
          .requiresACSPeer)
    func setParameterAttributesRolledBackWhenTheStoreFails() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.store.rawQuery("""
            CREATE TRIGGER inject_store_failure BEFORE INSERT ON parameter_attributes
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END
            """)
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "SetParameterAttributes", "attributes": [["name": Self.localTimeZone, "notification": 2]]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let refused = try #require(try responses(peer).last)
        #expect((refused["fault"] as? [String: Any])?["code"] as? Int == 9002)
        let attributes = try await harness.gateway.model.getParameterAttributes([Self.localTimeZone])
        #expect(attributes.first?.notification == .off)
        #expect(try await harness.store.load(AgentHarness.agentID)?.attributes[Self.localTimeZone] == nil)
        await harness.shutdown()
    }

    /// An AddObject (an InformParameter row) whose instance number cannot be stored: 9002, and neither the row nor
    /// the number exists afterwards, in memory or in the store.
    @Test("an AddObject whose instance cannot be stored answers 9002 and leaves no instance behind", .requiresACSPeer)
    func addObjectRolledBackWhenTheStoreFails() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.store.rawQuery("""
            CREATE TRIGGER inject_store_failure BEFORE INSERT ON instance_counters
            BEGIN SELECT RAISE(ABORT, 'injected store failure'); END
            """)
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "AddObject", "object": "Device.ManagementServer.InformParameter.",
                          "parameter_key": "pk-add"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let refused = try #require(try responses(peer).last)
        #expect((refused["fault"] as? [String: Any])?["code"] as? Int == 9002)
        #expect(await harness.gateway.model.parameterKey == "")
        #expect(await harness.gateway.managementServer.settings.informParameters.isEmpty)
        let names = try await harness.gateway.model.getParameterNames(path: "Device.ManagementServer.InformParameter.",
                                                                      nextLevel: true)
        #expect(names.isEmpty)
        await harness.shutdown()
    }
}

/// The crash child of `valueChangesSurviveSIGKILL` (run through `CrashChild`, PersistenceCrashTests.swift).
enum ValueChangeCrashChild {
    static func recordValueChangesThenHang(directory: String) async throws {
        let url = try String(contentsOfFile: directory + ".acs-url", encoding: .utf8)
        let store = try await AgentStore.open(directory: directory)
        // Bootstrapped with that ACS before (so the restart is a plain BOOT), and unable to reach it now.
        try await store.createAgent(AgentHarness.agentID)
        try await store.apply([.setBootstrappedACSURL(url)], to: AgentHarness.agentID)
        let settings = ManagementServerSettings(url: url, connectionRequestUsername: "cr-user",
                                                connectionRequestPassword: "cr-s3cret")
        let gateway = try await makeGatewayDataModel(identity: AgentHarness.identity, settings: settings)
        let environment = AgentEnvironment(store: store, transport: UnreachableTransport(), clock: ManualAgentClock())
        let identity = AgentHarness.identity
        let agent = CWMPAgent(configuration: .init(agentID: AgentHarness.agentID,
                                                   deviceId: DeviceId(manufacturer: identity.manufacturer,
                                                                      oui: identity.manufacturerOUI,
                                                                      productClass: identity.productClass,
                                                                      serialNumber: identity.serialNumber),
                                                   startupJitterWindow: .zero),
                              gateway: gateway, environment: environment)
        try await agent.start()
        try await gateway.model.setParameterAttributes([
            SetParameterAttributesStruct(name: AgentGapsTests.localTimeZone, notificationChange: true, notification: .active,
                                         accessListChange: false, accessList: []),
            SetParameterAttributesStruct(name: AgentGapsTests.upTime, notificationChange: true, notification: .passive,
                                         accessListChange: false, accessList: []),
        ])
        _ = try await gateway.model.setParameterValues(
            [ParameterValueStruct(name: AgentGapsTests.localTimeZone, value: "CET-1CEST,M3.5.0,M10.5.0/3")],
            parameterKey: "", origin: .cpe)
        await gateway.model.recordValueChanges([AgentGapsTests.upTime])
        await agent.valueChangesRecorded()
        // The agent's own subscription may have taken them first: wait until the store holds both.
        for _ in 0..<2000 {
            if try await store.load(AgentHarness.agentID)?.pendingValueChanges.count == 2 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        CrashChild.report("RECORDED")
        // The parent kills us here.
        while true { try await Task.sleep(for: .seconds(1)) }
    }
}

/// The crash child of `scheduledInformSurvivesSIGKILLMidSession` (run through `CrashChild`, PersistenceCrashTests.swift).
enum ScheduleInformCrashChild {
    static let commandKey = "sched-kill-9"

    /// Bootstrapped with the peer before (so the restart is a plain BOOT); its first session gets the ScheduleInform
    /// the parent queued. "SENDING" goes out as the ScheduleInformResponse is posted; the parent kills the process
    /// once the peer has it, with the session still open.
    static func answerScheduleInformThenHang(directory: String) async throws {
        let url = try String(contentsOfFile: directory + ".acs-url", encoding: .utf8)
        let store = try await AgentStore.open(directory: directory)
        try await store.createAgent(AgentHarness.agentID)
        try await store.apply([.setBootstrappedACSURL(url)], to: AgentHarness.agentID)
        let settings = ManagementServerSettings(url: url, connectionRequestUsername: "cr-user",
                                                connectionRequestPassword: "cr-s3cret")
        let gateway = try await makeGatewayDataModel(identity: AgentHarness.identity, settings: settings)
        let transport = ObservingTransport(inner: NIOACSTransport()) { body in
            if String(decoding: body, as: UTF8.self).contains("ScheduleInformResponse") { CrashChild.report("SENDING") }
        }
        let environment = AgentEnvironment(store: store, transport: transport, clock: ManualAgentClock())
        let identity = AgentHarness.identity
        let agent = CWMPAgent(configuration: .init(agentID: AgentHarness.agentID,
                                                   deviceId: DeviceId(manufacturer: identity.manufacturer,
                                                                      oui: identity.manufacturerOUI,
                                                                      productClass: identity.productClass,
                                                                      serialNumber: identity.serialNumber),
                                                   startupJitterWindow: .zero),
                              gateway: gateway, environment: environment)
        try await agent.start()
        CrashChild.report("STARTED")
        // The parent kills us during the session.
        while true { try await Task.sleep(for: .seconds(1)) }
    }
}
