// CWMPAgent against the real ACS peer: the session cycle, RPCs on the gateway model, Connection Requests, Digest,
// HTTP failures and retry, crash recovery, and many agents on one host.
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Testing
@testable import Proxier

@Suite("CWMP agent runtime", .serialized, .requiresACSPeer)
struct AgentRuntimeTests {
    private func startPeer(_ arguments: [String] = [], password: String? = nil) throws -> ACSPeer {
        try ACSPeer(arguments: arguments, password: password)
    }

    @Test("first session: BOOTSTRAP + BOOT acknowledged; GPV, SPV of PeriodicInformInterval, CR, Reboot; envelopes valid")
    func sessionCycle() async throws {
        let peer = try startPeer(["--max-sessions", "1000"])
        let record = try makeTemporaryStateDirectory() + "-record"
        try peer.control("POST", "/record", ["dir": record])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()

        // 1. BOOTSTRAP + BOOT, acknowledged, gone from the store.
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        let first = peer.lastInform(AgentHarness.deviceID)
        // The ConnectionRequestURL is new to the ACS, not a change: no 4 VALUE CHANGE in the BOOTSTRAP Inform.
        #expect(peer.eventCodes(first) == ["0 BOOTSTRAP", "1 BOOT"])
        let parameters = first?["parameters"] as? [String: Any] ?? [:]
        #expect(parameters["Device.DeviceInfo.SoftwareVersion"] as? String == "0.1.0-test")
        let crURL = await harness.agent.connectionRequestURL
        #expect(crURL != nil && parameters["Device.ManagementServer.ConnectionRequestURL"] as? String == crURL)
        #expect(try await harness.store.pendingEvents(of: harness.agent.agentID).isEmpty)

        // 2. GetParameterValues on the gateway model, in a Connection Request session.
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "GetParameterValues",
                          "names": ["Device.DeviceInfo.SerialNumber", "Device.ManagementServer.PeriodicInformInterval"]])
        let crAnswer = try harness.connectionRequest()
        #expect(crAnswer["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
        let answer = try peer.control("GET", "/devices/\(AgentHarness.deviceID)/responses")
        let responses = answer as? [[String: Any]] ?? (answer as? [String: Any])?["responses"] as? [[String: Any]] ?? []
        let values = responses.last?["values"] as? [String: Any]
        #expect(values?["Device.DeviceInfo.SerialNumber"] as? String == "GW-0001")
        #expect(values?["Device.ManagementServer.PeriodicInformInterval"] as? String == "3600")

        // 3. SetParameterValues of PeriodicInformInterval: the agent re-arms on the new interval.
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "SetParameterValues", "parameter_key": "pk-1",
                          "values": [["name": "Device.ManagementServer.PeriodicInformInterval", "value": 7,
                                      "type": "unsignedInt"]]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(3))
        let now = harness.clock.now()
        #expect(await eventually(30) { harness.agent.armedDeadline.map { $0 <= now.advanced(by: .seconds(7)) } ?? false })
        #expect(await harness.gateway.model.parameterKey == "pk-1")
        harness.clock.advance(by: .seconds(8))
        #expect(await harness.sessions(4))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)).contains("2 PERIODIC"))

        // 4. Reboot: the session ends cleanly, then 1 BOOT + M Reboot with the CommandKey.
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["method": "Reboot", "command_key": "rk-1"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(6))
        #expect(harness.reboots.keys.withLock { $0 } == ["rk-1"])
        let afterReboot = peer.lastInform(AgentHarness.deviceID)
        let events = afterReboot?["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["code"] as? String == "1 BOOT" })
        #expect(events.contains { $0["code"] as? String == "M Reboot" && $0["command_key"] as? String == "rk-1" })
        #expect(!events.contains { $0["code"] as? String == "0 BOOTSTRAP" })

        await harness.shutdown()
        try validateRecorded(record)
    }

    @Test("Digest authentication to the ACS", arguments: ["MD5", "SHA-256"])
    func digest(algorithm: String) async throws {
        let peer = try startPeer(["--auth", "digest", "--digest-algorithms", algorithm, "--username", "gw"],
                                 password: "acs-pw-\(algorithm)")
        let settings = ManagementServerSettings(url: peer.acsURL, username: "gw", password: "acs-pw-\(algorithm)",
                                                connectionRequestUsername: "cr-user",
                                                connectionRequestPassword: "cr-s3cret")
        let harness = try await AgentHarness.make(peer: peer, settings: settings)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(peer.informCount(AgentHarness.deviceID) == 1)
        await harness.shutdown()
    }

    @Test("wrong ACS password: the session fails with the 401, RetryCount counts it")
    func digestRefused() async throws {
        let peer = try startPeer(["--auth", "digest", "--username", "gw"], password: "right")
        let settings = ManagementServerSettings(url: peer.acsURL, username: "gw", password: "wrong")
        let harness = try await AgentHarness.make(peer: peer, settings: settings)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.failure == .httpError(status: 401, retryAfter: nil))
        #expect(await harness.agent.retryCount == 1)
        await harness.shutdown()
    }

    @Test("503 + Retry-After: the agent waits at least Retry-After, then informs with RetryCount 1")
    func retryAfter() async throws {
        let peer = try startPeer(["--max-sessions", "0"])
        let harness = try await AgentHarness.make(peer: peer)
        let start = harness.clock.now()
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.failure == .httpError(status: 503, retryAfter: .seconds(60)))
        #expect(await eventually(30) { harness.agent.armedDeadline.map { $0 >= start.advanced(by: .seconds(60)) } ?? false })
        try peer.control("POST", "/config", ["max_sessions": 10])
        harness.clock.advance(by: .seconds(30))
        // Still inside the Retry-After: no second session may start (give a wrong implementation time to try).
        try await Task.sleep(for: .milliseconds(300))
        #expect(await harness.agent.sessionsEnded == 1)
        harness.clock.advance(by: .seconds(31))
        #expect(await harness.sessions(2))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(peer.lastInform(AgentHarness.deviceID)?["retry_count"] as? Int == 1)
        await harness.shutdown()
    }

    @Test("HTTP 500 on the Inform: retry with RetryCount 1, events not lost")
    func informFailure() async throws {
        let peer = try startPeer(["--fail-inform", "1"])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.failure == .httpError(status: 500, retryAfter: nil))
        // The first retry waits 5…10 s (CWMPRetryMinimumWaitInterval 5, multiplier 2000).
        harness.clock.advance(by: .seconds(11))
        #expect(await harness.sessions(2))
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(inform?["retry_count"] as? Int == 1)
        #expect(Set(peer.eventCodes(inform)).isSuperset(of: ["0 BOOTSTRAP", "1 BOOT"]))
        #expect(await harness.agent.retryCount == 0)
        await harness.shutdown()
    }

    @Test("CWMPRetryMinimumWaitInterval changed at run time sizes the next retry wait, without a restart")
    func retryParametersTakeEffectAtRunTime() async throws {
        let peer = try startPeer(["--fail-inform", "2"])
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        // The first wait was drawn with the defaults (5…10 s); the change applies from the next failure on.
        try await harness.gateway.managementServer.update { $0.cwmpRetryMinimumWaitInterval = 100 }
        #expect(await eventually(30) { await harness.agent.retryPolicy.minimumWaitInterval == 100 })
        #expect(await harness.agent.retryCount == 1)
        harness.clock.advance(by: .seconds(11))
        #expect(await harness.sessions(2))
        #expect(await harness.agent.retryCount == 2)
        // The second retry's window with m = 100, k = 2000 is [200, 400] s after the failure.
        let failedAt = harness.clock.now()
        #expect(await eventually(30) { harness.agent.armedDeadline.map { $0 >= failedAt.advanced(by: .seconds(200)) } ?? false })
        #expect(harness.agent.armedDeadline.map { $0 <= failedAt.advanced(by: .seconds(400)) } ?? false)
        harness.clock.advance(by: .seconds(401))
        #expect(await harness.sessions(3))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(peer.lastInform(AgentHarness.deviceID)?["retry_count"] as? Int == 2)
        await harness.shutdown()
    }

    @Test("events pending at a crash are delivered after restart, once")
    func crashRecovery() async throws {
        let peer = try startPeer(["--fail-inform", "1"])
        let first = try await AgentHarness.make(peer: peer)
        try await first.agent.start()
        #expect(await first.sessions(1))
        #expect(await first.agent.lastOutcome?.informAcknowledged == false)
        // The crash: the store goes away without any acknowledgment, the agent with it.
        try await first.store.close()
        await first.agent.stop()
        first.environment.timer.stop()
        try? await first.connectionRequestServer.stop()

        let second = try await AgentHarness.make(peer: peer, directory: first.directory)
        let before = try await second.store.pendingEvents(of: second.agent.agentID)
        #expect(Set(before.map(\.code)) == ["0 BOOTSTRAP", "1 BOOT"])
        try await second.agent.start()
        #expect(await second.sessions(1))
        #expect(await second.agent.lastOutcome?.succeeded == true)
        let codes = peer.eventCodes(peer.lastInform(AgentHarness.deviceID))
        #expect(codes.filter { $0 == "0 BOOTSTRAP" }.count == 1)
        #expect(codes.filter { $0 == "1 BOOT" }.count == 1)
        #expect(try await second.store.pendingEvents(of: second.agent.agentID).isEmpty)
        // And never again.
        #expect(try second.connectionRequest()["status"] as? Int == 200)
        #expect(await second.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
        await second.shutdown()
    }

    /// The agent reads a session's events before it waits at the session gate; events removed meanwhile (here
    /// an ACS URL change drops the Connection Request event and queues BOOTSTRAP) must not reach the Inform.
    @Test("events removed while a session waits at the gate are not in its Inform")
    func eventsRemovedWhileWaitingAtTheGate() async throws {
        let peer = try startPeer(["--max-sessions", "1000"])
        let record = try makeTemporaryStateDirectory() + "-record"
        try peer.control("POST", "/record", ["dir": record])
        let gate = SessionGate(limit: 1)
        let harness = try await AgentHarness.make(peer: peer, sessionGate: gate)
        try await harness.agent.start()
        #expect(await harness.sessions(1))

        // Hold the only slot: the Connection Request's session reads its events, then waits.
        await gate.acquire()
        #expect(harness.agent.connectionRequestReceived() == .accepted)
        #expect(await eventually(30) { gate.waiting == 1 })
        try await harness.gateway.managementServer.update { $0.url = peer.acsURL + "-new" }
        #expect(await eventually(30) {
            (try? await harness.store.pendingEvents(of: harness.agent.agentID).map(\.code)) == ["0 BOOTSTRAP"]
        })
        gate.release()

        #expect(await harness.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)).contains("0 BOOTSTRAP"))
        await harness.shutdown()
        // No envelope the agent sent carried the dropped event (the stale read would have put it in session 2's
        // Inform, and BOOTSTRAP in a third session).
        let sent = try FileManager.default.contentsOfDirectory(atPath: record).filter { $0.contains("-cpe-") }
        #expect(sent.count >= 2)
        for name in sent {
            let text = try String(contentsOfFile: record + "/" + name, encoding: .utf8)
            #expect(!text.contains("6 CONNECTION REQUEST"), "\(name)")
        }
    }

    @Test("200 agents on one host complete their first session")
    func manyAgents() async throws {
        let peer = try startPeer(["--max-sessions", "1000", "--cookie", "none"])
        let directory = try makeTemporaryStateDirectory()
        let store = try await AgentStore.open(directory: directory)
        let host = AgentHost(configuration: .init(maximumConcurrentSessions: 32), store: store,
                             transport: NIOACSTransport(), clock: SystemAgentClock())
        let count = 200
        let rssBefore = residentBytes()
        let setups = (0..<count).map { index in
            let serial = "VD-\(index)"
            return AgentHost.AgentSetup(agentID: "00D09E-vd-\(serial)") { environment in
                let identity = GatewayIdentity(manufacturer: "Example Networks", manufacturerOUI: "00D09E",
                                               productClass: "vd", serialNumber: serial, hardwareVersion: "x86_64",
                                               softwareVersion: "0.1.0-test", provisioningCode: "PC1")
                let gateway = try await makeGatewayDataModel(identity: identity,
                                                             settings: ManagementServerSettings(url: peer.acsURL))
                return CWMPAgent(configuration: .init(agentID: "00D09E-vd-\(serial)",
                                                      deviceId: DeviceId(manufacturer: identity.manufacturer, oui: "00D09E",
                                                                         productClass: "vd", serialNumber: serial),
                                                      startupJitterWindow: .seconds(2)),
                                 gateway: gateway, environment: environment)
            }
        }
        let agents = try await host.start(setups)
        #expect(host.agentCount == count)
        let done = await eventually(120) {
            var finished = 0
            for agent in agents where await agent.lastOutcome?.succeeded == true { finished += 1 }
            return finished == count
        }
        #expect(done)
        let stats = try peer.control("GET", "/stats") as? [String: Any]
        #expect(stats?["sessions_completed"] as? Int ?? 0 >= count)
        let rssAfter = residentBytes()
        print("AGENT-RSS: \(count) agents (gateway data models) after first sessions: \((rssAfter - rssBefore) / count) bytes/agent")
        await host.stop()
        try await store.close()
        peer.stop()
    }

    private func validateRecorded(_ directory: String) throws {
        guard XSDValidator.isAvailable else {
            recordXSDValidationSkipped("envelopes")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("-cpe-") }.sorted()
        #expect(names.count >= 8)
        let documents = try names.map { name in
            (name: name, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
        }
        let failures = try XSDValidator.validate(documents)
        #expect(failures.isEmpty, "\(failures)")
    }
}

/// The process's resident set (from /proc/self/statm), in bytes.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * 4096
}
