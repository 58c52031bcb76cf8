// Value changes made outside the ACS (a provider, the device itself) against the real ACS peer: Notification 2
// opens a `4 VALUE CHANGE` session, Notification 1 waits for the next Inform; and the ConnectionRequestURL the agent
// publishes at start is reported once, in the first Inform, only when it differs from what the ACS last saw.
import CWMPClient
import CWMPTestSupport
import Logging
import Testing
@testable import Proxier

@Suite("CWMP agent value changes", .serialized, .requiresACSPeer)
struct AgentValueChangeTests {
    static let localTimeZone = "Device.Time.LocalTimeZone"

    private func startPeer() throws -> ACSPeer {
        try ACSPeer(arguments: ["--max-sessions", "1000"])
    }

    /// The device itself changes LocalTimeZone (a write that is not the ACS's: recorded as a value change).
    private func changeLocally(_ harness: AgentHarness, to value: String) async throws {
        _ = try await harness.gateway.model.setParameterValues(
            [ParameterValueStruct(name: Self.localTimeZone, value: value)], parameterKey: "", origin: .cpe)
    }

    private func parameters(_ inform: [String: Any]?) -> [String: Any] { inform?["parameters"] as? [String: Any] ?? [:] }

    @Test("Notification 2 set by the ACS: a local change opens a 4 VALUE CHANGE session carrying the parameter")
    func activeNotificationOpensSession() async throws {
        let peer = try startPeer()
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        // The first Inform after a fresh start: BOOTSTRAP + BOOT only (the new ConnectionRequestURL is no change).
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["0 BOOTSTRAP", "1 BOOT"])

        try peer.control("POST", "/devices/\(AgentHarness.deviceID)/rpcs",
                         ["method": "SetParameterAttributes", "attributes": [["name": Self.localTimeZone, "notification": 2]]])
        #expect(try harness.connectionRequest()["status"] as? Int == 200)
        #expect(await harness.sessions(2))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["6 CONNECTION REQUEST"])

        try await changeLocally(harness, to: "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(await harness.sessions(3))
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(peer.eventCodes(inform) == ["4 VALUE CHANGE"])
        #expect(parameters(inform)[Self.localTimeZone] as? String == "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(await harness.agent.lastOutcome?.succeeded == true)
        #expect(await harness.agent.pendingValueChanges.isEmpty)
        await harness.shutdown()
    }

    @Test("Notification 1: a local change opens no session and rides the next periodic Inform")
    func passiveNotificationWaitsForTheNextInform() async throws {
        let peer = try startPeer()
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        try await harness.gateway.model.setParameterAttributes([
            SetParameterAttributesStruct(name: Self.localTimeZone, notificationChange: true, notification: .passive,
                                         accessListChange: false, accessList: []),
        ])
        let periodic = harness.agent.armedDeadline
        #expect(periodic != nil)

        try await changeLocally(harness, to: "EST+5EDT,M3.2.0/2,M11.1.0/2")
        // The agent took the change (so it has decided), and nothing started: the periodic timer is still armed
        // (a session start disarms it) and no further session ended.
        #expect(await eventually(30) { await harness.agent.pendingValueChanges.map(\.name) == [Self.localTimeZone] })
        try await Task.sleep(for: .milliseconds(300))
        #expect(harness.agent.armedDeadline == periodic)
        #expect(await harness.agent.sessionsEnded == 1)
        #expect(peer.informCount(AgentHarness.deviceID) == 1)

        harness.clock.advance(by: .seconds(3601))
        #expect(await harness.sessions(2))
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(Set(peer.eventCodes(inform)) == ["2 PERIODIC", "4 VALUE CHANGE"])
        #expect(parameters(inform)[Self.localTimeZone] as? String == "EST+5EDT,M3.2.0/2,M11.1.0/2")
        #expect(await harness.agent.pendingValueChanges.isEmpty)
        await harness.shutdown()
    }

    @Test("restart: the same ConnectionRequestURL is no value change; a new one rides the BOOT Inform, one session")
    func connectionRequestURLAtRestart() async throws {
        let peer = try startPeer()
        let harness = try await AgentHarness.make(peer: peer)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["0 BOOTSTRAP", "1 BOOT"])
        let url = await harness.agent.connectionRequestURL
        await harness.agent.stop()

        // Same store, same listener and advertised port: the stored path gives the same URL.
        let same = makeAgent(harness, environment: harness.environment)
        try await same.start()
        #expect(await eventually(30) { await same.sessionsEnded >= 1 })
        #expect(await same.connectionRequestURL == url)
        #expect(peer.eventCodes(peer.lastInform(AgentHarness.deviceID)) == ["1 BOOT"])
        await same.stop()

        // Another advertised port (the listener moved): a value change, in the BOOT Inform, not a session of its own.
        var moved = harness.environment
        moved.connectionRequestPort += 1
        let agent = makeAgent(harness, environment: moved)
        try await agent.start()
        #expect(await eventually(30) { await agent.sessionsEnded >= 1 })
        let inform = peer.lastInform(AgentHarness.deviceID)
        #expect(peer.eventCodes(inform) == ["1 BOOT", "4 VALUE CHANGE"])
        let newURL = await agent.connectionRequestURL
        #expect(newURL != url)
        #expect(parameters(inform)["Device.ManagementServer.ConnectionRequestURL"] as? String == newURL)
        try await Task.sleep(for: .milliseconds(300))
        #expect(await agent.sessionsEnded == 1)
        #expect(peer.informCount(AgentHarness.deviceID) == 3)
        await agent.stop()
        await harness.shutdown()
    }

    private func makeAgent(_ harness: AgentHarness, environment: AgentEnvironment) -> CWMPAgent {
        let identity = AgentHarness.identity
        let deviceId = DeviceId(manufacturer: identity.manufacturer, oui: identity.manufacturerOUI,
                                productClass: identity.productClass, serialNumber: identity.serialNumber)
        return CWMPAgent(configuration: .init(agentID: AgentHarness.agentID, deviceId: deviceId, startupJitterWindow: .zero),
                         gateway: harness.gateway, environment: environment)
    }
}
