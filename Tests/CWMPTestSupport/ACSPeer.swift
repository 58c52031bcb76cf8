// The project's ACS test peer (Tests/Peers/acs/acs_peer.py) as a subprocess, with its JSON control API over a
// plain socket, for every test target that needs a real ACS. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum PeerUnavailable: Error { case python3Missing, notStarted(String) }

/// The Python ACS peer, started per test, stopped with SIGTERM.
public final class ACSPeer: @unchecked Sendable {
    public static let script: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers/acs/acs_peer.py").path

    public static var python3: String? {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return nil
    }

    /// Whether a peer can run here (python3 and the script). Suites and tests that need the peer take
    /// `.enabled(if: ACSPeer.isAvailable, "\(ACSPeer.unavailableReason)")`, so that a missing peer is reported as a
    /// skipped test, not as a test that printed a line and passed.
    public static var isAvailable: Bool { python3 != nil && FileManager.default.fileExists(atPath: script) }
    public static let unavailableReason = "python3 or Tests/Peers/acs/acs_peer.py is missing: the ACS peer cannot run"

    public let process = Process()
    public let port: Int
    public let controlPort: Int

    /// Whether the CWMP listener speaks https (`--tls-cert`).
    public let tls: Bool

    public var acsURL: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)/acs" }

    public init(arguments: [String] = [], password: String? = nil) throws {
        guard let python3 = Self.python3 else { throw PeerUnavailable.python3Missing }
        tls = arguments.contains("--tls-cert")
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
    public func stop() {
        guard process.isRunning else { return }
        _ = try? control("POST", "/shutdown")
        for _ in 0..<50 where process.isRunning { usleep(20_000) }
        signalChild(process, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// One control API call; the answer's JSON.
    @discardableResult
    public func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        request += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n\r\n"
        let response = try Self.roundTrip(port: controlPort, bytes: Array(request.utf8) + Array(payload))
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return [:] as [String: Any] }
        let bodyBytes = Data(response[split.upperBound...])
        if bodyBytes.isEmpty { return [:] as [String: Any] }
        return try JSONSerialization.jsonObject(with: bodyBytes)
    }

    public func device(_ id: String) -> [String: Any]? {
        (try? control("GET", "/devices/\(id)")) as? [String: Any]
    }

    public func lastInform(_ id: String) -> [String: Any]? { device(id)?["last_inform"] as? [String: Any] }

    public func informCount(_ id: String) -> Int { device(id)?["informs"] as? Int ?? 0 }

    public func eventCodes(_ inform: [String: Any]?) -> [String] {
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
public func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

