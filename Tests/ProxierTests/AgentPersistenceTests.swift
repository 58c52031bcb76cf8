// What a CWMPAgent keeps across restarts and kill -9, against the real ACS peer: InformParameter rows keep their
// instance numbers, a ManagementServer value the ACS sets is in the store before the SetParameterValuesResponse
// leaves, and a TransferComplete queued just before a SIGKILL is delivered after the restart, exactly once.
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Synchronization
import Testing
@testable import Proxier

extension AgentHarness {
    /// Stops everything but the peer, as a process exit would (the next harness reuses the peer and directory).
    func stopKeepingPeer() async {
        await agent.stop()
        environment.timer.stop()
        try? await connectionRequestServer.stop()
        try? await store.close()
    }

    /// The settings the harness uses, with what the store holds laid over them: what `cwmp-proxy run` does at start.
    static func restoredSettings(peer: ACSPeer, directory: String) async throws -> ManagementServerSettings {
        let configured = ManagementServerSettings(url: peer.acsURL, periodicInformEnable: true, periodicInformInterval: 3600,
                                                  connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret")
        let stored = try await withStore(in: directory) { store in
            try await store.load(agentID)?.parameterValues ?? [:]
        }
        return configured.restoring(stored).settings
    }
}

/// Calls `observe` with every body the agent POSTs, before it goes to the real transport.
struct ObservingTransport: ACSTransport {
    let inner: any ACSTransport
    let observe: @Sendable ([UInt8]) async -> Void

    func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession {
        ObservingSession(inner: try await inner.openSession(url: url, credentials: credentials), observe: observe)
    }
}

struct ObservingSession: ACSSession {
    let inner: any ACSSession
    let observe: @Sendable ([UInt8]) async -> Void

    func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse {
        if let body, !body.isEmpty { await observe(body) }
        return try await inner.post(body: body, timeout: timeout)
    }

    func close() async { await inner.close() }
}

@Suite("Agent persistence across restarts", .requiresACSPeer)
struct AgentPersistenceTests {
    private func startPeer() throws -> ACSPeer {
        try ACSPeer(arguments: ["--max-sessions", "1000"])
    }

    /// The CommandKeys of the TransferCompletes the peer received from the harness's device.
    private func transferCompletes(_ peer: ACSPeer) throws -> [String] {
        let requests = try peer.control("GET", "/devices/\(AgentHarness.deviceID)/requests") as? [[String: Any]] ?? []
        return requests.filter { $0["method"] as? String == "TransferComplete" }
            .map { ($0["args"] as? [String: Any])?["CommandKey"] as? String ?? "?" }
    }

    @Test("InformParameter rows the ACS added keep their instance numbers across a restart; deleted numbers stay used")
    func informParameterNumbers() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let first = try await AgentHarness.make(peer: peer, directory: directory)
            try await first.agent.start()
            #expect(await first.sessions(1))
            let table = "Device.ManagementServer.InformParameter."
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["rpcs": [
                ["method": "AddObject", "object": table, "parameter_key": "add-1"],
                ["method": "AddObject", "object": table, "parameter_key": "add-2"],
                ["method": "AddObject", "object": table, "parameter_key": "add-3"],
                ["method": "DeleteObject", "object": table + "1.", "parameter_key": "delete-1"],
                ["method": "SetParameterValues", "parameter_key": "set-3", "values": [
                    ["name": table + "3.ParameterName", "value": "Device.DeviceInfo.UpTime", "type": "string"],
                    ["name": table + "3.Enable", "value": true, "type": "boolean"],
                    ["name": table + "3.Alias", "value": "uptime", "type": "string"],
                ]],
            ]])
            #expect(try first.connectionRequest()["status"] as? Int == 200)
            #expect(await first.sessions(2))
            let responses = try peer.control("GET", "/devices/\(AgentHarness.deviceID)/responses") as? [[String: Any]] ?? []
            let added = responses.filter { $0["method"] as? String == "AddObject" }
                .compactMap { ($0["response"] as? [String: Any])?["InstanceNumber"] as? String }
            #expect(added == ["1", "2", "3"])
            #expect(responses.allSatisfy { $0["fault"] is NSNull || $0["fault"] == nil })
            await first.stopKeepingPeer()

            let settings = try await AgentHarness.restoredSettings(peer: peer, directory: directory)
            #expect(settings.informParameters.count == 2)
            let second = try await AgentHarness.make(peer: peer, directory: directory, settings: settings)
            try await second.agent.start()
            #expect(await second.sessions(1))
            // The restored row informs under its old number's settings…
            let parameters = peer.lastInform(AgentHarness.deviceID)?["parameters"] as? [String: Any] ?? [:]
            #expect(parameters["Device.DeviceInfo.UpTime"] != nil)
            // …and the ACS finds rows 2 and 3 where it left them, by number and by Alias.
            let model = second.gateway.model
            let names = try await model.getParameterNames(path: table, nextLevel: true).map(\.name)
            #expect(names == [table + "2.", table + "3."])
            #expect(try await model.getParameterValues([table + "[uptime].ParameterName"]).first?.value
                    == "Device.DeviceInfo.UpTime")
            #expect(await model.parameterKey == "set-3")
            // Number 1 was deleted and 3 is the highest ever used: the next row is 4.
            #expect(try await model.addObject(table, parameterKey: "add-4").instanceNumber == 4)
            await second.stopKeepingPeer()
        }
    }

    @Test("after a FactoryReset instances are renumbered from the counters: no number the ACS saw comes back")
    func factoryResetKeepsCounters() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let harness = try await AgentHarness.make(peer: peer, directory: directory)
            try await harness.agent.start()
            #expect(await harness.sessions(1))
            let table = "Device.ManagementServer.InformParameter."
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["rpcs": [
                ["method": "AddObject", "object": table, "parameter_key": "add-1"],
                ["method": "AddObject", "object": table, "parameter_key": "add-2"],
                ["method": "FactoryReset"],
            ]])
            #expect(try harness.connectionRequest()["status"] as? Int == 200)
            // The CR session, then the BOOTSTRAP + BOOT session after the reset.
            #expect(await harness.sessions(3))
            #expect(Set(peer.eventCodes(peer.lastInform(AgentHarness.deviceID))).isSuperset(of: ["0 BOOTSTRAP", "1 BOOT"]))
            let model = harness.gateway.model
            #expect(await model.parameterKey == "")
            // The rows the ACS added are gone with the reset (the configuration has none)…
            #expect(try await model.getParameterNames(path: table, nextLevel: true).isEmpty)
            // …and the next one is numbered from the counter, never 1 or 2.
            #expect(try await model.addObject(table, parameterKey: "add-3").instanceNumber == 3)
            await harness.stopKeepingPeer()
            let snapshot = try await withStore(in: directory) { try await $0.load(AgentHarness.agentID) }
            #expect(snapshot?.instanceCounters[table] ?? 0 >= 3)
        }
    }

    /// TR-069 FactoryReset: the CPE forgets what the ACS configured. Here the factory state is the configuration:
    /// the ManagementServer values and InformParameter rows the ACS set, ParameterKey and the attributes go, in
    /// memory and in the store, the next session is `0 BOOTSTRAP` + `1 BOOT` with the configured values, the
    /// configured FactoryReset hook command runs, and a restart restores nothing the ACS had set.
    @Test("FactoryReset restores the configured ManagementServer values and forgets what the ACS set; the hook command runs")
    func factoryResetRestoresTheConfiguration() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let marker = directory + "/factory-reset-hook"
            let hooks = AgentHooks.commands(
                reboot: nil,
                factoryReset: HookCommand(["/bin/sh", "-c", "printf '%s %s' \"$CWMP_HOOK\" \"$CWMP_AGENT_ID\" > '\(marker)'"]),
                logger: Logger(label: "test.hooks"))
            let configured = AgentHarness.configuredSettings(peer: peer)
            let harness = try await AgentHarness.make(peer: peer, directory: directory, factoryDefaults: configured, hooks: hooks)
            try await harness.agent.start()
            #expect(await harness.sessions(1))
            let ms = "Device.ManagementServer."
            let table = ms + "InformParameter."
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["rpcs": [
                ["method": "SetParameterValues", "parameter_key": "pk-set", "values": [
                    ["name": ms + "PeriodicInformInterval", "value": 77, "type": "unsignedInt"],
                    ["name": ms + "CWMPRetryMinimumWaitInterval", "value": 30, "type": "unsignedInt"],
                    ["name": ms + "ConnectionRequestUsername", "value": "acs-set", "type": "string"],
                    // Another URL of the same peer (the query is ignored there): a second ACS as far as the agent knows.
                    ["name": ms + "URL", "value": peer.acsURL + "?acs=2", "type": "string"],
                ]],
                ["method": "SetParameterAttributes", "attributes": [["name": "Device.Time.LocalTimeZone", "notification": 1]]],
                ["method": "AddObject", "object": table, "parameter_key": "add-1"],
                ["method": "SetParameterValues", "parameter_key": "pk-row", "values": [
                    ["name": table + "1.ParameterName", "value": "Device.DeviceInfo.UpTime", "type": "string"],
                    ["name": table + "1.Enable", "value": true, "type": "boolean"],
                ]],
            ]])
            #expect(try harness.connectionRequest()["status"] as? Int == 200)
            #expect(await harness.sessions(2))
            // The new URL: a BOOTSTRAP session to it.
            #expect(await harness.sessions(3))
            #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["0 BOOTSTRAP"])
            let before = try #require(try await harness.store.load(AgentHarness.agentID))
            #expect(before.bootstrappedACSURL == peer.acsURL + "?acs=2")
            #expect(before.parameterValues[ms + "PeriodicInformInterval"]?.value == "77")
            #expect(before.attributes["Device.Time.LocalTimeZone"] != nil)
            #expect(before.parameterKey == "pk-row")

            // The ACS's Connection Request credentials are now acs-set/cr-s3cret: the reset is asked for in a
            // periodic session (a Connection Request with the old username would get 401).
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs", ["method": "FactoryReset"])
            let changedAt = harness.clock.now()
            try await harness.gateway.managementServer.update { $0.periodicInformInterval = 60 }
            #expect(await eventually(30) { harness.agent.armedDeadline == changedAt.advanced(by: .seconds(60)) })
            harness.clock.advance(by: .seconds(61))
            #expect(await harness.sessions(5))
            let inform = peer.lastInform(AgentHarness.deviceID)
            #expect(Set(peer.eventCodes(inform)) == ["0 BOOTSTRAP", "1 BOOT"])
            // One BOOTSTRAP session, to the configured URL: the restored URL raises no second one.
            try await Task.sleep(for: .milliseconds(300))
            #expect(await harness.agent.sessionsEnded == 5)
            // The InformParameter row is gone: UpTime is not in the BOOTSTRAP Inform.
            #expect((inform?["parameters"] as? [String: Any])?["Device.DeviceInfo.UpTime"] == nil)

            let settings = await harness.gateway.managementServer.settings
            #expect(settings == configured)
            #expect(await harness.agent.retryPolicy.minimumWaitInterval == 5)
            #expect(await harness.gateway.model.parameterKey == "")
            #expect(try await harness.gateway.model.getParameterNames(path: table, nextLevel: true).isEmpty)
            let after = try #require(try await harness.store.load(AgentHarness.agentID))
            #expect(after.parameterValues.keys.filter(ManagementServerSettings.isSettingsPath).isEmpty)
            #expect(after.attributes.isEmpty)
            #expect(after.parameterKey == "")
            #expect(after.bootstrappedACSURL == peer.acsURL)
            // The configured Connection Request credentials are back.
            #expect(try harness.connectionRequest()["status"] as? Int == 200)
            #expect(await harness.sessions(6))
            #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])
            #expect(await eventually(30) { (try? String(contentsOfFile: marker, encoding: .utf8)) == "factory-reset \(AgentHarness.agentID)" })
            await harness.stopKeepingPeer()

            // After a restart nothing the ACS set comes back either.
            #expect(try await AgentHarness.restoredSettings(peer: peer, directory: directory) == configured)
        }
    }

    @Test("a ManagementServer value the ACS sets is in the store before the SetParameterValuesResponse is sent")
    func settingsWrittenBeforeTheResponse() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let storeBox = Mutex<AgentStore?>(nil)
            let seenAtResponse = Mutex<[String]>([])
            let transport = ObservingTransport(inner: NIOACSTransport()) { body in
                guard String(decoding: body, as: UTF8.self).contains("SetParameterValuesResponse"),
                      let store = storeBox.withLock({ $0 }) else { return }
                // What a kill -9 at this instant would leave behind.
                let snapshot = try? await store.load(AgentHarness.agentID)
                let interval = snapshot?.parameterValues["Device.ManagementServer.PeriodicInformInterval"]?.value ?? "absent"
                seenAtResponse.withLock { $0.append("\(interval) \(snapshot?.parameterKey ?? "?")") }
            }
            let harness = try await AgentHarness.make(peer: peer, directory: directory, transport: transport)
            storeBox.withLock { $0 = harness.store }
            try await harness.agent.start()
            #expect(await harness.sessions(1))
            try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                             ["method": "SetParameterValues", "parameter_key": "pk-77",
                              "values": [["name": "Device.ManagementServer.PeriodicInformInterval", "value": 77,
                                          "type": "unsignedInt"]]])
            #expect(try harness.connectionRequest()["status"] as? Int == 200)
            #expect(await harness.sessions(2))
            #expect(seenAtResponse.withLock { $0 } == ["77 pk-77"])
            await harness.stopKeepingPeer()

            // And the restart brings it back.
            let settings = try await AgentHarness.restoredSettings(peer: peer, directory: directory)
            #expect(settings.periodicInformInterval == 77)
        }
    }

    @Test("a TransferComplete queued just before a SIGKILL is delivered after the restart, exactly once")
    func transferCompleteSurvivesSIGKILL() async throws {
        let peer = try startPeer()
        defer { peer.stop() }
        try await withTemporaryStateDirectory { directory in
            let lines = try await CrashChild.run(mode: .queueRequestThenHang, directory: directory) { lines in
                lines.contains("QUEUED")
            }
            #expect(lines.contains("QUEUED"))
            let key = AgentCrashChild.commandKey
            try await withStore(in: directory) { store in
                let snapshot = try #require(try await store.load(AgentHarness.agentID))
                #expect(snapshot.requests.map(\.request.method) == ["TransferComplete"])
                #expect(snapshot.transfers.count == 1)
                #expect(snapshot.pendingEvents.contains { $0.code == "7 TRANSFER COMPLETE" })
                #expect(snapshot.pendingEvents.contains { $0.code == "M Download" && $0.commandKey == key })
            }

            let second = try await AgentHarness.make(peer: peer, directory: directory)
            try await second.agent.start()
            #expect(await second.sessions(1))
            #expect(await second.agent.lastOutcome?.succeeded == true)
            let events = peer.lastInform(AgentHarness.deviceID)?["events"] as? [[String: Any]] ?? []
            #expect(events.contains { $0["code"] as? String == "7 TRANSFER COMPLETE" })
            #expect(events.contains { $0["code"] as? String == "M Download" && $0["command_key"] as? String == key })
            #expect(try transferCompletes(peer) == [key])
            #expect(await second.agent.pendingRequests.isEmpty)
            let after = try #require(try await second.store.load(AgentHarness.agentID))
            #expect(after.requests.isEmpty)
            #expect(after.transfers.isEmpty, "the transfer the request reported is done once the ACS has the report")
            #expect(after.pendingEvents.isEmpty)

            // Never again: not in the next session, not after another restart.
            #expect(try second.connectionRequest()["status"] as? Int == 200)
            #expect(await second.sessions(2))
            #expect(try transferCompletes(peer) == [key])
            await second.stopKeepingPeer()

            let third = try await AgentHarness.make(peer: peer, directory: directory)
            try await third.agent.start()
            #expect(await third.sessions(1))
            #expect(!peer.eventCodes(peer.lastInform(AgentHarness.deviceID)).contains("7 TRANSFER COMPLETE"))
            #expect(try transferCompletes(peer) == [key])
            await third.stopKeepingPeer()
        }
    }
}

/// The crash child of `transferCompleteSurvivesSIGKILL` (run through `CrashChild`, PersistenceCrashTests.swift).
enum AgentCrashChild {
    static let commandKey = "dl-crash-1"

    /// An agent whose ACS is unreachable (nothing listens on loopback port 9: sessions fail at once and wait for a
    /// retry the manual clock never reaches) finishes a download: the transfer was recorded when accepted, the
    /// TransferComplete and its events are queued; then the parent kills the process.
    static func queueTransferCompleteThenHang(directory: String) async throws {
        let store = try await AgentStore.open(directory: directory)
        let settings = ManagementServerSettings(url: "http://127.0.0.1:9/acs", connectionRequestUsername: "cr-user",
                                                connectionRequestPassword: "cr-s3cret")
        let gateway = try await makeGatewayDataModel(identity: AgentHarness.identity, settings: settings)
        let environment = AgentEnvironment(store: store, transport: NIOACSTransport(), clock: ManualAgentClock())
        let identity = AgentHarness.identity
        let agent = CWMPAgent(configuration: .init(agentID: AgentHarness.agentID,
                                                   deviceId: DeviceId(manufacturer: identity.manufacturer,
                                                                      oui: identity.manufacturerOUI,
                                                                      productClass: identity.productClass,
                                                                      serialNumber: identity.serialNumber),
                                                   startupJitterWindow: .zero),
                              gateway: gateway, environment: environment)
        try await agent.start()
        let transferID = try await agent.recordTransfer(PendingTransfer(
            commandKey: commandKey, kind: .download, state: .inProgress, fileType: "1 Firmware Upgrade Image",
            url: "http://192.0.2.10/firmware.bin"))
        #expect(try await agent.pendingTransfers().map(\.id) == [transferID])
        let report = TransferComplete(commandKey: commandKey, fault: .none,
                                      startTime: CWMPDateTime(rawValue: "2026-11-23T10:00:00Z"),
                                      completeTime: CWMPDateTime(rawValue: "2026-11-23T10:01:00Z"))
        try await agent.queueRequest(.transferComplete(report),
                                     events: [EventStruct(eventCode: EventCode.transferComplete),
                                              EventStruct(eventCode: "M Download", commandKey: commandKey)],
                                     transferID: transferID)
        CrashChild.report("QUEUED")
        // The parent kills us here.
        while true { try await Task.sleep(for: .seconds(1)) }
    }
}
