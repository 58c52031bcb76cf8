// Issue 3, gap 8: every writable ManagementServer parameter the ACS sets really takes effect, shown on the real agent
// against the real ACS peer (Tests/Peers/acs), with the manual clock wherever timing matters. One test per
// parameter (or group that acts together): EnableCWMP, HTTPConnectionRequestEnable, PeriodicInformEnable/Time,
// HeartbeatPolicy.*, Username/Password, CWMPRetryIntervalMultiplier.
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Testing
@testable import Proxier

@Suite("ManagementServer parameters take effect in the agent")
struct AgentManagementServerTests {
    private func startPeer(_ arguments: [String] = [], password: String? = nil) throws -> ACSPeer? {
        do {
            return try ACSPeer(arguments: ["--max-sessions", "1000"] + arguments, password: password)
        } catch PeerUnavailable.python3Missing {
            print("SKIPPED: python3 is missing, the ACS peer cannot run")
            return nil
        }
    }

    private static let ms = "Device.ManagementServer."

    private func queue(_ peer: ACSPeer, _ rpcs: [[String: Any]]) throws {
        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["rpcs": rpcs])
    }

    private func set(_ values: [(String, Any, String)], key: String) -> [String: Any] {
        ["method": "SetParameterValues", "parameter_key": key,
         "values": values.map { ["name": Self.ms + $0.0, "value": $0.1, "type": $0.2] }]
    }

    /// The peer's Connection Request to `url` (the one the agent registered, whatever the Inform said).
    private func connectionRequest(_ peer: ACSPeer, url: String) throws -> Int? {
        let answer = try peer.control("POST", "/devices/\(AgentHarness.deviceID)/connection-request",
                                      ["url": url, "username": "cr-user", "password": "cr-s3cret", "timeout": 5])
        return (answer as? [String: Any])?["status"] as? Int
    }

    private func dateTime(_ instant: CWMPInstant) throws -> String {
        try CWMPDateTime(secondsSince1970: instant.sinceUnixEpoch.components.seconds).rawValue
    }

    /// Records every envelope the peer receives from now on, in a fresh directory.
    private func record(_ peer: ACSPeer) throws -> String {
        let directory = try makeTemporaryStateDirectory() + "-record"
        try peer.control("POST", "/record", ["dir": directory])
        return directory
    }

    /// Every envelope the agent sent (recorded by the peer) validates against the CWMP XSDs.
    /// Returns the envelopes' texts.
    @discardableResult
    private func validateRecorded(_ directory: String, atLeast count: Int) throws -> [String] {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("-cpe-") }.sorted()
        #expect(names.count >= count)
        let documents = try names.map { (name: $0, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0)))) }
        if XSDValidator.isAvailable {
            let failures = try XSDValidator.validate(documents)
            #expect(failures.isEmpty, "\(failures)")
        } else {
            print("SKIPPED: ../shared/tools/cwmp-validate is absent; envelopes not validated")
        }
        return documents.map { String(decoding: $0.bytes, as: UTF8.self) }
    }

    private func faults(_ peer: ACSPeer) throws -> [Any] {
        let responses = try peer.control("GET", "/devices/\(AgentHarness.deviceID)/responses") as? [[String: Any]] ?? []
        return responses.compactMap { $0["fault"] }.filter { !($0 is NSNull) }
    }

    @Test("EnableCWMP false: no session and no failure (RetryCount stays 0), Connection Requests get 503; re-enabled, the events that waited go at once")
    func enableCWMP() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let url = try #require(await harness.agent.connectionRequestURL)
        try queue(peer, [set([("EnableCWMP", false, "boolean")], key: "off"),
                         ["method": "ScheduleInform", "delay_seconds": 5, "command_key": "while-off"]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(try faults(peer).isEmpty)

        // The ScheduleInform falls due while disabled: its events are raised and stored, no session opens.
        harness.clock.advance(by: .seconds(6))
        #expect(await eventually(30) {
            (try? await harness.store.pendingEvents(of: AgentHarness.agentID).map(\.code))?.contains("3 SCHEDULED") == true
        })
        // Give a wrong implementation time to open (and fail) a session.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await harness.agent.sessionsEnded == 2)
        #expect(await harness.agent.retryCount == 0)
        #expect(peer.informCount(AgentHarness.deviceID) == 2)
        // TR-181: the CPE MUST NOT accept Connection Requests either.
        #expect(try connectionRequest(peer, url: url) == 503)

        // Re-enabled from the LAN side (TR-181: "the subscriber can re-enable"): a session at once, with what waited.
        try await harness.gateway.managementServer.update { $0.enableCWMP = true }
        #expect(await harness.sessions(3))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(inform?["retry_count"] as? Int == 0)
        let events = inform?["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["code"] as? String == "3 SCHEDULED" })
        #expect(events.contains { $0["code"] as? String == "M ScheduleInform" && $0["command_key"] as? String == "while-off" })
        #expect(try connectionRequest(peer, url: url) == 200)
        await harness.shutdown()
    }

    @Test("HTTPConnectionRequestEnable false: the listener answers 503 for this agent and ConnectionRequestURL reads empty; true again restores both")
    func httpConnectionRequestEnable() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let url = try #require(await harness.agent.connectionRequestURL)
        try queue(peer, [set([("HTTPConnectionRequestEnable", false, "boolean")], key: "cr-off")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        // ConnectionRequestURL changed to "" (TR-181 MUST): an active notification, so a VALUE CHANGE session.
        #expect(await harness.sessions(3))
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(peer.eventCodes(inform) == ["4 VALUE CHANGE"])
        #expect((inform?["parameters"] as? [String: Any])?[Self.ms + "ConnectionRequestURL"] as? String == "")
        #expect(try connectionRequest(peer, url: url) == 503)
        #expect(await harness.agent.sessionsEnded == 3)

        try await harness.gateway.managementServer.update { $0.httpConnectionRequestEnable = true }
        #expect(await harness.sessions(4))
        let restored = peer.lastInform(AgentHarness.deviceID)
        #expect((restored?["parameters"] as? [String: Any])?[Self.ms + "ConnectionRequestURL"] as? String == url)
        #expect(try connectionRequest(peer, url: url) == 200)
        #expect(await harness.sessions(5))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
        await harness.shutdown()
    }

    @Test("PeriodicInformTime set by the ACS aligns the next 2 PERIODIC exactly; PeriodicInformEnable false stops them")
    func periodicInformTimeAndEnable() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let now = harness.clock.now()
        // A phase 100 s (whole seconds) from now, interval 60: the next instant after now is phase − 60.
        let phase = CWMPInstant.seconds(now.sinceUnixEpoch.components.seconds + 100)
        try queue(peer, [set([("PeriodicInformInterval", 60, "unsignedInt"), ("PeriodicInformTime", try dateTime(phase), "dateTime")],
                             key: "phase")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        let due = phase.advanced(by: .seconds(-60))
        #expect(await eventually(30) { harness.agent.armedDeadline == due })
        harness.clock.advance(by: now.duration(to: due))
        #expect(await harness.sessions(3))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["2 PERIODIC"])
        #expect(await eventually(30) { harness.agent.armedDeadline == due.advanced(by: .seconds(60)) })

        try queue(peer, [set([("PeriodicInformEnable", false, "boolean")], key: "periodic-off")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(4))
        harness.clock.advance(by: .seconds(180))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await harness.agent.sessionsEnded == 4)
        #expect(try await harness.store.pendingEvents(of: AgentHarness.agentID).isEmpty)
        await harness.shutdown()
    }

    @Test("HeartbeatPolicy set by the ACS: 14 HEARTBEAT alone, at InitiationTime + k·ReportingInterval")
    func heartbeatPolicy() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let recorded = try record(peer)
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let now = harness.clock.now()
        let initiation = CWMPInstant.seconds(now.sinceUnixEpoch.components.seconds + 10)
        try queue(peer, [set([("HeartbeatPolicy.Enable", true, "boolean"), ("HeartbeatPolicy.ReportingInterval", 30, "unsignedInt"),
                              ("HeartbeatPolicy.InitiationTime", try dateTime(initiation), "dateTime")], key: "hb")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(try faults(peer).isEmpty)
        #expect(await eventually(30) { harness.agent.armedDeadline == initiation })
        harness.clock.advance(by: now.duration(to: initiation))
        #expect(await harness.sessions(3))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["14 HEARTBEAT"])
        #expect(await eventually(30) { harness.agent.armedDeadline == initiation.advanced(by: .seconds(30)) })
        harness.clock.advance(by: .seconds(30))
        #expect(await harness.sessions(4))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["14 HEARTBEAT"])
        await harness.shutdown()
        // Four Informs (two of them heartbeats) and the SetParameterValuesResponse.
        try validateRecorded(recorded, atLeast: 5)
    }

    @Test("Username and Password set by the ACS are the credentials of the next session")
    func acsCredentials() async throws {
        guard let peer = try startPeer(["--auth", "digest", "--username", "gw"], password: "old-pw") else { return }
        defer { peer.stop() }
        let settings = ManagementServerSettings(url: peer.acsURL, username: "gw", password: "old-pw",
                                                connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret")
        let harness = try await AgentHarness.make(peer: peer, settings: settings)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        try queue(peer, [set([("Username", "gw2", "string"), ("Password", "new-pw", "string")], key: "creds")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        // The ACS now only accepts the new credentials.
        try peer.control("POST", "/config", ["username": "gw2", "password": "new-pw"])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(3))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(await harness.agent.retryCount == 0)
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
        await harness.shutdown()
    }

    @Test("CWMPRetryIntervalMultiplier and CWMPRetryMinimumWaitInterval set by the ACS size the retry waits")
    func retryIntervalMultiplier() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        // m = 10 s, k = 10.000: the first retry waits [10, 100] s, the second [100, 1000] s (with the default
        // k = 2000 the second would be [20, 40] s).
        try queue(peer, [set([("CWMPRetryMinimumWaitInterval", 10, "unsignedInt"), ("CWMPRetryIntervalMultiplier", 10000, "unsignedInt")],
                             key: "retry"),
                         ["method": "ScheduleInform", "delay_seconds": 1, "command_key": "retry-me"]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(await harness.agent.retryPolicy.intervalMultiplier == 10000)
        try peer.control("POST", "/inject", ["inform_500": 2])

        harness.clock.advance(by: .seconds(2))
        #expect(await harness.sessions(3))
        #expect(await harness.agent.retryCount == 1)
        let firstFailure = harness.clock.now()
        #expect(await eventually(30) {
            harness.agent.armedDeadline.map { $0 >= firstFailure.advanced(by: .seconds(10)) && $0 <= firstFailure.advanced(by: .seconds(100)) } ?? false
        })
        harness.clock.advance(by: .seconds(101))
        #expect(await harness.sessions(4))
        #expect(await harness.agent.retryCount == 2)
        let secondFailure = harness.clock.now()
        #expect(await eventually(30) {
            harness.agent.armedDeadline.map { $0 >= secondFailure.advanced(by: .seconds(100)) && $0 <= secondFailure.advanced(by: .seconds(1000)) } ?? false
        })
        harness.clock.advance(by: .seconds(1001))
        #expect(await harness.sessions(5))
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(inform?["retry_count"] as? Int == 2)
        #expect((inform?["events"] as? [[String: Any]] ?? []).contains { $0["command_key"] as? String == "retry-me" })
        await harness.shutdown()
    }

    @Test("an AutonomousTransferComplete is reported only as AutonomousTransferCompletePolicy allows")
    func autonomousTransferCompletePolicy() async throws {
        guard let peer = try startPeer() else { return }
        defer { peer.stop() }
        let recorded = try record(peer)
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let firmware = AutonomousTransferComplete(announceURL: "", transferURL: "http://files.example/fw.bin", isDownload: true,
                                                  fileType: "1 Firmware Upgrade Image", fileSize: 1024, targetFileName: "fw.bin",
                                                  fault: .none, startTime: .unknown, completeTime: .unknown)
        let events = [EventStruct(eventCode: "10 AUTONOMOUS TRANSFER COMPLETE")]
        // Disabled by default (TR-181 default false): not queued, no session.
        #expect(try await harness.agent.queueRequest(.autonomousTransferComplete(firmware), events: events) == false)
        try queue(peer, [set([("AutonomousTransferCompletePolicy.Enable", true, "boolean"),
                              ("AutonomousTransferCompletePolicy.TransferTypeFilter", "Download", "string"),
                              ("AutonomousTransferCompletePolicy.ResultTypeFilter", "Success", "string"),
                              ("AutonomousTransferCompletePolicy.FileTypeFilter", "1 Firmware Upgrade Image", "string")],
                             key: "atc")])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        // Filtered out: an upload, a failure, another file type.
        var upload = firmware
        upload.isDownload = false
        var failed = firmware
        failed.fault = TransferFault(faultCode: 9010, faultString: "download failed")
        var config = firmware
        config.fileType = "3 Vendor Configuration File"
        for excluded in [upload, failed, config] {
            #expect(try await harness.agent.queueRequest(.autonomousTransferComplete(excluded), events: events) == false)
        }
        #expect(await harness.agent.pendingRequests.isEmpty)
        // Passes every filter: queued and delivered.
        #expect(try await harness.agent.queueRequest(.autonomousTransferComplete(firmware), events: events) == true)
        #expect(await harness.sessions(3))
        let requests = try peer.control("GET", "/devices/\(AgentHarness.deviceID)/requests") as? [[String: Any]] ?? []
        #expect(requests.filter { $0["method"] as? String == "AutonomousTransferComplete" }.count == 1)
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["10 AUTONOMOUS TRANSFER COMPLETE"])
        await harness.shutdown()
        // Three Informs, the SetParameterValuesResponse and the AutonomousTransferComplete request.
        let sent = try validateRecorded(recorded, atLeast: 5)
        #expect(sent.filter { $0.contains("AutonomousTransferComplete>") || $0.contains("AutonomousTransferComplete ") }.count == 1)
    }
}
