// The real gateway agent against the project's ACS peer (Tests/Peers/acs) where the ACS, not the CPE, shapes the
// session: GenieACS's GetParameterValues batches of 32 answered in one session on one TCP connection, a Connection
// Request arriving while a session is held open, the Connection Request listener answering 503 (rate limit,
// HTTPConnectionRequestEnable false), CWMP version fallback, BOOTSTRAP after the ACS URL changed across a restart,
// and a DUStateChangeComplete delivered in a session. Foundation is fine here: tests only.
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Testing
@testable import Proxier

@Suite("CWMP agent sessions shaped by the ACS peer", .serialized, .requiresACSPeer)
struct AgentPeerSessionTests {
    private static let device = AgentHarness.deviceID

    private func stats(_ peer: ACSPeer) throws -> [String: Any] {
        try peer.control("GET", "/stats") as? [String: Any] ?? [:]
    }

    private func responses(_ peer: ACSPeer) throws -> [[String: Any]] {
        try peer.control("GET", "/devices/\(Self.device)/responses") as? [[String: Any]] ?? []
    }

    private func startRecording(_ peer: ACSPeer) throws -> String {
        let record = try makeTemporaryStateDirectory() + "-record"
        try peer.control("POST", "/record", ["dir": record])
        return record
    }

    /// Every envelope the agent sent (`*-cpe-*` in the peer's record) validates against the CWMP XSDs; returns
    /// their texts. Without the validator (no ../shared beside the clone) only the texts are returned: the
    /// behaviour checks of the calling test still run, and the missing validation is reported as a known issue.
    @discardableResult
    private func validateRecorded(_ directory: String, atLeast minimum: Int) throws -> [String: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("-cpe-") }.sorted()
        #expect(names.count >= minimum, "\(names)")
        let documents = try names.map { name in
            (name: name, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
        }
        if XSDValidator.isAvailable {
            let failures = try XSDValidator.validate(documents)
            #expect(failures.isEmpty, "\(failures)")
        } else {
            recordXSDValidationSkipped("envelopes")
        }
        return Dictionary(uniqueKeysWithValues: documents.map { ($0.name, String(decoding: $0.bytes, as: UTF8.self)) })
    }

    // MARK: Gap 6: GenieACS's GetParameterValues batches

    @Test("a GPV of 70 names, queued GenieACS style as 3 batches of ≤ 32, is answered in one session on one connection",
          arguments: ["nio", "async-http-client"])
    func getParameterValuesInBatchesOf32(transport: String) async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let harness = try await AgentHarness.make(
            peer: peer, transport: transport == "nio" ? NIOACSTransport() : try ACSHTTPTransport())
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let leaves = try await harness.gateway.model.getParameterNames(path: "Device.", nextLevel: false)
            .map(\.name).filter { !$0.hasSuffix(".") }
        try #require(leaves.count >= 70, "the gateway model has only \(leaves.count) parameters")
        let names = Array(leaves.prefix(70))

        let queued = try peer.control("POST", "/devices/\(Self.device)/rpcs",
                                      ["method": "GetParameterValues", "names": names]) as? [String: Any]
        #expect((queued?["queued"] as? [Any])?.count == 3)
        let record = try startRecording(peer)
        let before = try stats(peer)
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(await harness.agent.lastOutcome?.succeeded == true)

        // All three batches answered, in order, each with exactly its names, and matched to its cwmp:ID.
        let answers = try responses(peer).filter { $0["method"] as? String == "GetParameterValues" }
        #expect(answers.count == 3)
        #expect(answers.map { $0["response_method"] as? String } == Array(repeating: "GetParameterValuesResponse", count: 3))
        #expect(answers.allSatisfy { $0["matched"] as? Bool == true && !($0["fault"] is [String: Any]) })
        let batches = answers.map { (($0["request"] as? [String: Any])?["names"] as? [String]) ?? [] }
        #expect(batches.map(\.count) == [32, 32, 6])
        #expect(batches.flatMap { $0 } == names)
        for (batch, answer) in zip(batches, answers) {
            #expect(((answer["values"] as? [String: Any]) ?? [:]).keys.sorted() == batch.sorted())
        }

        // One session, one TCP connection: GenieACS keys the session to the socket.
        let after = try stats(peer)
        let delta = { (key: String) in (after[key] as? Int ?? 0) - (before[key] as? Int ?? 0) }
        #expect(delta("connections") == 1)
        #expect(delta("sessions_completed") == 1)
        #expect(delta("sessions_failed") == 0)
        #expect(delta("rejected_bad_session") == 0)
        #expect(delta("protocol_errors") == 0)
        await harness.shutdown()
        // Inform, three GetParameterValuesResponses (an empty POST is not recorded: it has no envelope).
        let sent = try validateRecorded(record, atLeast: 4)
        #expect(sent.keys.filter { $0.contains("GetParameterValuesResponse") }.count == 3)
    }

    // MARK: Gap 7: Connection Request during a session; 503 through the real listener

    @Test("a Connection Request while the ACS holds a session open: 200, the session runs on, then exactly one more")
    func connectionRequestDuringASession() async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))

        // The peer holds the next session open: it opens the session on the Inform and sends the InformResponse
        // 8 s later (the agent waits up to 30 s, so the session does not fail). 8 s is only the window in which
        // the test's Connection Requests must land; the test checks below that they did land inside the session.
        // (A delayed answer to the empty POST would not do: the peer ends its session when it decides on the 204.)
        try peer.control("POST", "/inject", ["delay_count": 1, "delay_seconds": 8, "delay_on": "inform"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await eventually(30) {
            ((try? stats(peer))?["injected"] as? [String: Any])?["delay"] as? Int == 1
        }, "the session never reached its held InformResponse")

        // Two Connection Requests during the held session: both 200 (TR-069 §3.2.2: never refused for a session
        // in progress), and together they make one session after the running one.
        let during = try [harness.connectionRequest(), harness.connectionRequest()]
        #expect(during.map { $0["status"] as? Int } == [200, 200])
        #expect(peer.device(Self.device)?["in_session"] as? Bool == true, "the Connection Requests came too late")
        #expect(await harness.agent.sessionsEnded == 1)

        #expect(await harness.sessions(3))
        // Settle: a wrong implementation would start a fourth session (one per request) within this time.
        try await Task.sleep(for: .milliseconds(500))
        #expect(await eventually(30) { peer.device(Self.device)?["in_session"] as? Bool == false })
        #expect(await harness.agent.sessionsEnded == 3)
        #expect(peer.informCount(Self.device) == 3)
        #expect(peer.eventCodes(peer.lastInform(Self.device)) == ["6 CONNECTION REQUEST"])
        // The held session was not interrupted: it and the follow-up completed, none failed.
        let counters = try stats(peer)
        #expect(counters["sessions_completed"] as? Int == 3)
        #expect(counters["sessions_failed"] as? Int == 0)
        await harness.shutdown()
    }

    @Test("the per-agent Connection Request rate limit answers 503 through the real listener, and starts no session")
    func connectionRequestRateLimit() async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        // One authenticated request, then one per hour: the second is over the limit.
        let harness = try await AgentHarness.make(
            peer: peer, connectionRequest: .init(host: "127.0.0.1", port: 0, agentBurst: 1, agentRefillInterval: .hours(1)))
        try await harness.agent.start()
        #expect(await harness.sessions(1))

        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let limited = try harness.connectionRequest()
        // 503 after a correct Digest answer (the peer saw the 401 challenge first): the limit applies only to
        // authenticated requests, so that a stranger cannot use up the ACS's budget.
        #expect(limited["status"] as? Int == 503)
        #expect(limited["statuses"] as? [Int] == [401, 503])
        #expect(limited["device_offline"] as? Bool == true)
        try await Task.sleep(for: .milliseconds(500))
        #expect(await harness.agent.sessionsEnded == 2)
        #expect(peer.informCount(Self.device) == 2)
        await harness.shutdown()
    }

    @Test("HTTPConnectionRequestEnable false: ConnectionRequestURL reads \"\" (one VALUE CHANGE session), then 503 and no session; true again: 200")
    func connectionRequestsDisabled() async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        // The ACS keeps the URL it learnt: after the change the Inform carries "" for it (TR-181).
        let url = try #require((peer.lastInform(Self.device)?["parameters"] as? [String: Any])?[
            "Device.ManagementServer.ConnectionRequestURL"] as? String)
        #expect(!url.isEmpty)

        // The username changes in the same update: the listener's view of the agent (credentials and the enable
        // flag, updated together) has taken the change once the new username is in effect, so no request of the
        // test can come before it and open a session.
        try await harness.gateway.managementServer.update {
            $0.httpConnectionRequestEnable = false
            $0.connectionRequestUsername = "cr-user-2"
        }
        #expect(await eventually(30) { harness.agent.connectionRequestCredentials().username == "cr-user-2" })
        // ConnectionRequestURL now reads "" (TR-181): a change of an active-notification parameter, which the agent
        // reports in a session of its own before anything else is tried.
        #expect(await harness.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(Self.device)) == ["4 VALUE CHANGE"])
        #expect((peer.lastInform(Self.device)?["parameters"] as? [String: Any])?[
            "Device.ManagementServer.ConnectionRequestURL"] as? String == "")
        let credentials: [String: Any] = ["username": "cr-user-2", "password": "cr-s3cret", "timeout": 5, "url": url]
        let refused = try peer.control("POST", "/devices/\(Self.device)/connection-request", credentials) as? [String: Any]
        #expect(refused?["status"] as? Int == 503)
        #expect(refused?["statuses"] as? [Int] == [401, 503])
        #expect(refused?["device_offline"] as? Bool == true)
        try await Task.sleep(for: .milliseconds(500))
        #expect(await harness.agent.sessionsEnded == 2)

        // Enabled again: ConnectionRequestURL reads the URL again (another VALUE CHANGE session), then a request is
        // served.
        try await harness.gateway.managementServer.update { $0.httpConnectionRequestEnable = true }
        #expect(await harness.sessions(3))
        #expect(peer.eventCodes(peer.lastInform(Self.device)).contains("4 VALUE CHANGE"))
        #expect(await eventually(30) {
            ((try? peer.control("POST", "/devices/\(Self.device)/connection-request", credentials)) as? [String: Any])?["status"]
                as? Int == 200
        })
        #expect(await harness.sessions(4))
        #expect(peer.eventCodes(peer.lastInform(Self.device)).contains("6 CONNECTION REQUEST"))
        await harness.shutdown()
    }

    // MARK: Gap 10: version fallback, BOOTSTRAP across a restart, DUStateChangeComplete

    /// `1.2`, `1.1`, `1.0`: the ACS answers `UseCWMPVersion` with that version, and the agent speaks it for the
    /// rest of the session (cwmp-1-1 / cwmp-1-0 namespace after the Inform); `none`: an older ACS that sends no
    /// UseCWMPVersion at all, so the agent infers the version from the namespace (cwmp-1-2 → 1.2, since 1.3/1.4
    /// need the header).
    @Test("CWMP version fallback end to end: the agent offers 1.4 and works at the version the ACS uses",
          arguments: [("1.2", CWMPVersion.v1_2), ("none", .v1_2), ("1.1", .v1_1), ("1.0", .v1_0)])
    func versionFallback(acsVersion: String, expected: CWMPVersion) async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000", "--cwmp-version", acsVersion])
        let record = try startRecording(peer)
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(await harness.agent.lastOutcome?.cwmpVersion == expected)
        let inform = peer.lastInform(Self.device)
        #expect((inform?["supported_cwmp_versions"] as? String)?.contains("1.4") == true)
        #expect(inform?["use_cwmp_version"] as? String == (acsVersion == "none" ? nil : acsVersion))

        // A full RPC exchange at the agreed version, in a second session.
        try peer.control("POST", "/devices/\(Self.device)/rpcs",
                         ["method": "GetParameterValues", "names": ["Device.DeviceInfo.SerialNumber"]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(await harness.agent.lastOutcome?.cwmpVersion == expected)
        #expect(try responses(peer).last?["values"] as? [String: String] == ["Device.DeviceInfo.SerialNumber": "GW-0001"])
        await harness.shutdown()
        // The Inform offers the versions in cwmp-1-2 (cwmp.md §1); what follows is in the agreed version's namespace.
        let sent = try validateRecorded(record, atLeast: 3)
        for (name, text) in sent {
            let namespace = name.contains("-cpe-Inform-") ? CWMPVersion.v1_2.namespace : expected.namespace
            #expect(text.contains("\"\(namespace.rawValue)\""), "\(name)")
        }
        #expect(sent.keys.contains { $0.contains("GetParameterValuesResponse") })
    }

    @Test("the ACS URL changed across a restart (state kept): 0 BOOTSTRAP at the new ACS; the same URL: no BOOTSTRAP")
    func bootstrapAfterTheURLChangedAcrossARestart() async throws {
        let old = try ACSPeer(arguments: ["--max-sessions", "1000"])
        defer { old.stop() }
        let first = try await AgentHarness.make(peer: old, settings: managementServer(url: old.acsURL))
        try await first.agent.start()
        #expect(await first.sessions(1))
        #expect(old.eventCodes(old.lastInform(Self.device)) == ["0 BOOTSTRAP", "1 BOOT"])
        await stopKeepingThePeer(first)

        // A restart with the same URL (the state directory kept): 1 BOOT, no BOOTSTRAP. (The listener got a new
        // port, so the changed ConnectionRequestURL also brings 4 VALUE CHANGE; AgentValueChangeTests covers that.)
        let same = try await AgentHarness.make(peer: old, directory: first.directory,
                                               settings: managementServer(url: old.acsURL))
        try await same.agent.start()
        #expect(await same.sessions(1))
        #expect(old.informCount(Self.device) == 2)
        #expect(old.eventCodes(old.lastInform(Self.device)).filter { $0 != EventCode.valueChange } == ["1 BOOT"])
        await stopKeepingThePeer(same)

        // A restart with another URL (what a changed configuration gives the agent at start): BOOTSTRAP there.
        let new = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let second = try await AgentHarness.make(peer: new, directory: first.directory,
                                                 settings: managementServer(url: new.acsURL))
        try await second.agent.start()
        #expect(await second.sessions(1))
        #expect(await second.agent.lastOutcome?.succeeded == true)
        #expect(new.eventCodes(new.lastInform(Self.device)) == ["0 BOOTSTRAP", "1 BOOT"])
        #expect(try await second.store.load(AgentHarness.agentID)?.bootstrappedACSURL == new.acsURL)
        await second.shutdown()
        #expect(old.informCount(Self.device) == 2)
    }

    /// Stops the agent, its listener and its store, and leaves the peer running for the next life.
    private func stopKeepingThePeer(_ harness: AgentHarness) async {
        await harness.agent.stop()
        harness.environment.timer.stop()
        try? await harness.connectionRequestServer.stop()
        try? await harness.store.close()
    }

    private func managementServer(url: String) -> ManagementServerSettings {
        ManagementServerSettings(url: url, periodicInformEnable: true, periodicInformInterval: 3600,
                                 connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret")
    }

    @Test("a DUStateChangeComplete the agent owes is delivered in a session with 11 DU STATE CHANGE COMPLETE + M ChangeDUState")
    func duStateChangeCompleteDelivered() async throws {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let record = try startRecording(peer)

        let result = DeploymentUnitOperationResult(
            uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", deploymentUnitRef: "Device.SoftwareModules.DeploymentUnit.1",
            version: "1.0", currentState: "Installed", resolved: true,
            executionUnitRefList: "Device.SoftwareModules.ExecutionUnit.1",
            startTime: CWMPDateTime(rawValue: "2026-11-23T10:00:00Z"),
            completeTime: CWMPDateTime(rawValue: "2026-11-23T10:00:05Z"), fault: .none)
        try await harness.agent.queueRequest(
            .duStateChangeComplete(DUStateChangeComplete(results: [result], commandKey: "du-1")),
            events: [EventStruct(eventCode: EventCode.duStateChangeComplete),
                     EventStruct(eventCode: "M ChangeDUState", commandKey: "du-1")])
        #expect(await harness.sessions(2))
        #expect(await harness.agent.lastOutcome?.succeeded == true)

        let events = peer.lastInform(Self.device)?["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["code"] as? String == EventCode.duStateChangeComplete })
        #expect(events.contains { $0["code"] as? String == "M ChangeDUState" && $0["command_key"] as? String == "du-1" })
        let requests = try peer.control("GET", "/devices/\(Self.device)/requests") as? [[String: Any]] ?? []
        let delivered = requests.filter { $0["method"] as? String == "DUStateChangeComplete" }
        #expect(delivered.count == 1)
        #expect((delivered.first?["args"] as? [String: Any])?["CommandKey"] as? String == "du-1")
        // Delivered and acknowledged: nothing left to send, in memory or in the store.
        #expect(await harness.agent.pendingRequests.isEmpty)
        #expect(try await harness.store.pendingEvents(of: harness.agent.agentID).isEmpty)

        // Not again in the next session.
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(3))
        #expect(peer.eventCodes(peer.lastInform(Self.device)) == ["6 CONNECTION REQUEST"])
        let later = try peer.control("GET", "/devices/\(Self.device)/requests") as? [[String: Any]] ?? []
        #expect(later.filter { $0["method"] as? String == "DUStateChangeComplete" }.count == 1)
        await harness.shutdown()
        let sent = try validateRecorded(record, atLeast: 3)
        #expect(sent.keys.contains { $0.contains("DUStateChangeComplete") })
    }
}
