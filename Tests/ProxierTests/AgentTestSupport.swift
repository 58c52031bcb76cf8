// The agent tests run the real ACS peer (Tests/Peers/acs/acs_peer.py) as a subprocess and talk to its JSON control
// API over a plain socket. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import CWMPTestSupport
import Logging
import Synchronization
import Testing
@testable import Proxier

/// A clock the test moves by hand: retry waits and periodic informs happen when the test says so.
final class ManualAgentClock: AgentClock {
    private struct Sleeper {
        var deadline: CWMPInstant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let state: Mutex<(now: CWMPInstant, sleepers: [UInt64: Sleeper], next: UInt64)>

    init(now: CWMPInstant = SystemAgentClock().now()) {
        state = Mutex((now, [:], 0))
    }

    func now() -> CWMPInstant { state.withLock { $0.now } }

    func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let ready = state.sleepers.filter { $0.value.deadline <= now }
            for key in ready.keys { state.sleepers[key] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    func sleep(until deadline: CWMPInstant) async throws {
        let id = state.withLock { state -> UInt64 in
            state.next += 1
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}

/// One gateway agent against a peer, with a store in a temporary directory and a manual clock.
struct AgentHarness {
    static let identity = GatewayFixtures.identity
    /// The peer accepts a unique serial number in place of the device id.
    static let deviceID = GatewayFixtures.identity.serialNumber
    static let agentID = "00D09E-cwmp-proxy-\(identity.serialNumber)"

    let peer: ACSPeer
    let directory: String
    let store: AgentStore
    let clock: ManualAgentClock
    let gateway: GatewayDataModel
    let agent: CWMPAgent
    let environment: AgentEnvironment
    let connectionRequestServer: ConnectionRequestServer
    let reboots: RebootLog

    /// The settings the harness configures by default: its factory defaults.
    static func configuredSettings(peer: ACSPeer) -> ManagementServerSettings {
        ManagementServerSettings(url: peer.acsURL, periodicInformEnable: true, periodicInformInterval: 3600,
                                 connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret")
    }

    /// `factoryDefaults`: what a FactoryReset restores (`settings` when nil). `hooks`: the Reboot/FactoryReset
    /// hooks (default: Reboot CommandKeys go to `reboots`).
    static func make(peer: ACSPeer, directory: String? = nil, settings: ManagementServerSettings? = nil,
                     factoryDefaults: ManagementServerSettings? = nil, hooks: AgentHooks? = nil,
                     clock: ManualAgentClock = ManualAgentClock(),
                     transport: (any ACSTransport)? = nil,
                     sessionGate: SessionGate = SessionGate(limit: 64),
                     connectionRequest: ConnectionRequestServer.Configuration = .init(host: "127.0.0.1", port: 0),
                     actions: (any CWMPAgentActions)? = nil)
        async throws -> AgentHarness {
        let directory = try directory ?? makeTemporaryStateDirectory()
        let store = try await AgentStore.open(directory: directory)
        let settings = settings ?? configuredSettings(peer: peer)
        let gateway = try await makeGatewayDataModel(identity: identity, settings: settings, factoryDefaults: factoryDefaults)
        let server = ConnectionRequestServer(configuration: connectionRequest, logger: Logger(label: "test.cr"))
        let address = try await server.start()
        let environment = AgentEnvironment(store: store, transport: transport ?? NIOACSTransport(), clock: clock,
                                           sessionGate: sessionGate, connectionRequestServer: server, connectionRequestHost: "127.0.0.1",
                                           connectionRequestPort: address.port ?? 0)
        let reboots = RebootLog()
        let deviceId = DeviceId(manufacturer: identity.manufacturer, oui: identity.manufacturerOUI,
                                productClass: identity.productClass, serialNumber: identity.serialNumber)
        let agent = CWMPAgent(configuration: .init(agentID: agentID,
                                                   deviceId: deviceId, startupJitterWindow: .zero),
                              gateway: gateway, actions: actions ?? RebootCapableActions(),
                              hooks: hooks ?? AgentHooks(reboot: { _, key in reboots.keys.withLock { $0.append(key) } }),
                              environment: environment)
        return AgentHarness(peer: peer, directory: directory, store: store, clock: clock, gateway: gateway, agent: agent,
                            environment: environment, connectionRequestServer: server, reboots: reboots)
    }

    func shutdown() async {
        await agent.stop()
        environment.timer.stop()
        try? await connectionRequestServer.stop()
        try? await store.close()
        peer.stop()
    }

    /// Waits until the agent has ended `count` sessions, for up to 30 s. The time bound is explicit: a bare
    /// `eventually { … }` resolves to RPCTestSupport's variant, which gives up after 100,000 `Task.yield()`s, a
    /// time that shrinks as the machine gets busier while a session over loopback takes longer: under parallel
    /// test load it gave up before the session ended.
    func sessions(_ count: Int) async -> Bool {
        await eventually(30) { await agent.sessionsEnded >= count }
    }

    func connectionRequest() throws -> [String: Any] {
        try peer.control("POST", "/devices/\(Self.deviceID)/connection-request",
                         ["username": "cr-user", "password": "cr-s3cret", "timeout": 5]) as? [String: Any] ?? [:]
    }
}

final class RebootLog: Sendable {
    let keys = Mutex<[String]>([])
}

extension Trait where Self == ConditionTrait {
    /// For tests that run the ACS peer: skipped, and reported as skipped with the reason, when it cannot run here.
    /// (They used to print "SKIPPED" and return, which the runner counts as a pass.) A peer that is present but
    /// fails to start still fails the test.
    static var requiresACSPeer: Self { .enabled(if: ACSPeer.isAvailable, "\(ACSPeer.unavailableReason)") }
}

/// The part of a test that validates envelopes cannot run without ../shared/tools/cwmp-validate (a clone without
/// ../shared beside it). The rest of the test still runs; this shows the skipped part in the results as a known
/// issue instead of a printed line.
func recordXSDValidationSkipped(_ what: String) {
    withKnownIssue("../shared/tools/cwmp-validate is absent: \(what) not validated") {
        Issue.record("XSD validation skipped")
    }
}
