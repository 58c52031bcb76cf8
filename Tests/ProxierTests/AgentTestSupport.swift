// The agent tests run the real ACS peer (Tests/Peers/acs/acs_peer.py) as a subprocess and talk to its JSON control
// API over a plain socket. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
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

enum PeerUnavailable: Error { case python3Missing, notStarted(String) }

/// The Python ACS peer, started per test, stopped with SIGTERM.
final class ACSPeer: @unchecked Sendable {
    static let script: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/acs/acs_peer.py").path

    static var python3: String? {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return nil
    }

    let process = Process()
    let port: Int
    let controlPort: Int

    var acsURL: String { "http://127.0.0.1:\(port)/acs" }

    init(arguments: [String] = [], password: String? = nil) throws {
        guard let python3 = Self.python3 else { throw PeerUnavailable.python3Missing }
        process.executableURL = URL(fileURLWithPath: python3)
        process.arguments = [Self.script, "--port", "0", "--control-port", "0", "--exit-with-parent"] + arguments
        var environment = ProcessInfo.processInfo.environment
        if let password { environment["ACS_PEER_PASSWORD"] = password }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        var listening: Int?
        var control: Int?
        while listening == nil || control == nil {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw PeerUnavailable.notStarted(text) }
            text += String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 3 else { continue }
                if parts[0] == "LISTENING" { listening = Int(parts[2]) }
                if parts[0] == "CONTROL" { control = Int(parts[2]) }
            }
        }
        port = listening!
        controlPort = control!
    }

    /// The control API's shutdown first: a child of the test runner may inherit a signal mask that blocks SIGTERM.
    func stop() {
        guard process.isRunning else { return }
        _ = try? control("POST", "/shutdown")
        for _ in 0..<50 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// One control API call; the answer's JSON.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        request += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
        let response = try Self.roundTrip(port: controlPort, bytes: Array(request.utf8) + Array(payload))
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return [:] as [String: Any] }
        let bodyBytes = Data(response[split.upperBound...])
        if bodyBytes.isEmpty { return [:] as [String: Any] }
        return try JSONSerialization.jsonObject(with: bodyBytes)
    }

    func device(_ id: String) -> [String: Any]? {
        (try? control("GET", "/devices/\(id)")) as? [String: Any]
    }

    func lastInform(_ id: String) -> [String: Any]? { device(id)?["last_inform"] as? [String: Any] }

    func informCount(_ id: String) -> Int { device(id)?["informs"] as? Int ?? 0 }

    func eventCodes(_ inform: [String: Any]?) -> [String] {
        (inform?["events"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
    }

    private static func roundTrip(port: Int, bytes: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerUnavailable.notStarted("socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw PeerUnavailable.notStarted("connect") }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return response
    }
}

/// Polls `condition` every 20 ms for up to `seconds` (a bound, never an assertion on time).
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// One gateway agent against a peer, with a store in a temporary directory and a manual clock.
struct AgentHarness {
    static let identity = GatewayFixtures.identity
    /// The peer accepts a unique serial number in place of the device id.
    static let deviceID = GatewayFixtures.identity.serialNumber

    let peer: ACSPeer
    let directory: String
    let store: AgentStore
    let clock: ManualAgentClock
    let gateway: GatewayDataModel
    let agent: CWMPAgent
    let environment: AgentEnvironment
    let connectionRequestServer: ConnectionRequestServer
    let reboots: RebootLog

    static func make(peer: ACSPeer, directory: String? = nil, settings: ManagementServerSettings? = nil,
                     clock: ManualAgentClock = ManualAgentClock()) async throws -> AgentHarness {
        let directory = try directory ?? makeTemporaryStateDirectory()
        let store = try await AgentStore.open(directory: directory)
        let settings = settings ?? ManagementServerSettings(
            url: peer.acsURL, periodicInformEnable: true, periodicInformInterval: 3600,
            connectionRequestUsername: "cr-user", connectionRequestPassword: "cr-s3cret")
        let gateway = try await makeGatewayDataModel(identity: identity, settings: settings)
        let server = ConnectionRequestServer(configuration: .init(host: "127.0.0.1", port: 0),
                                             logger: Logger(label: "test.cr"))
        let address = try await server.start()
        let environment = AgentEnvironment(store: store, transport: NIOACSTransport(), clock: clock,
                                           connectionRequestServer: server, connectionRequestHost: "127.0.0.1",
                                           connectionRequestPort: address.port ?? 0)
        let reboots = RebootLog()
        let deviceId = DeviceId(manufacturer: identity.manufacturer, oui: identity.manufacturerOUI,
                                productClass: identity.productClass, serialNumber: identity.serialNumber)
        let agent = CWMPAgent(configuration: .init(agentID: "00D09E-cwmp-proxy-\(identity.serialNumber)",
                                                   deviceId: deviceId, startupJitterWindow: .zero),
                              gateway: gateway, hooks: AgentHooks(reboot: { _, key in reboots.keys.withLock { $0.append(key) } }),
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

    /// Waits until the agent has ended `count` sessions.
    func sessions(_ count: Int) async -> Bool {
        await eventually { await agent.sessionsEnded >= count }
    }

    func connectionRequest() throws -> [String: Any] {
        try peer.control("POST", "/devices/\(Self.deviceID)/connection-request",
                         ["username": "cr-user", "password": "cr-s3cret", "timeout": 5]) as? [String: Any] ?? [:]
    }
}

final class RebootLog: Sendable {
    let keys = Mutex<[String]>([])
}
