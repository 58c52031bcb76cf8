// A static HTTP file server for Download tests: Python's http.server (standard library) from the test venv, or the
// system python3, on loopback. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `python3 -m http.server` on loopback serving one directory; port 0, the bound port read from its first line.
public final class StaticFileServer: @unchecked Sendable {
    public static let python: String? = {
        let venv = URL(fileURLWithPath: ACSPeer.script).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : ACSPeer.python3
    }()

    public let process = Process()
    public let port: Int
    /// The directory served; the test writes its files here.
    public let directory: String

    public init() throws {
        directory = NSTemporaryDirectory() + "cwmp-proxy-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let python = Self.python else { throw PeerUnavailable.python3Missing }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        var found: Int?
        while found == nil {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw PeerUnavailable.notStarted(text) }
            text += String(decoding: data, as: UTF8.self)
            // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
            if let range = text.range(of: " port ") {
                found = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        port = found!
    }

    public func url(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    public func stop() {
        guard process.isRunning else { return }
        signalChild(process, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
