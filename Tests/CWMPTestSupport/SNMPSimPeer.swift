// snmpsim (PyPI, Tests/Peers/.venv) as a subprocess: recorded SNMP devices, one or many UDP endpoints per process,
// for every test target (and the benchmarks) that need agents snmpd cannot be: recorded devices, agents that fail
// on a given OID (snmpsim's `error` and `delay` variation modules), writable values (`writecache`), fleets.
// Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `snmpsim-command-responder`, started with a temporary data and cache directory and stopped at the end.
///
/// Devices are `.snmprec` texts (lines `OID|TAG|VALUE`, in increasing OID order); each is served under its own
/// community (v1/v2c: the community is the data file's name) and SNMPv3 context name (v3 requests must name the
/// device as context: with the empty context snmpsim finds no data and does not answer). Every endpoint of the
/// process serves every device, so a fleet of N agents is one process with N endpoints (`SNMPSimPeer(devices:,
/// endpointCount: 500)`): snmpsim binds each one and answers on all of them from one event loop (500 endpoints
/// answered 1.3 s after the start here). All endpoints share one SNMPv3 engine ID, like cloned devices.
///
/// What snmpsim offers, with the record syntax (see snmpsim's variation modules in the venv,
/// `site-packages/snmpsim/variation/*.py`):
/// - A failing object: `OID|TAG:error|op=get,status=genError` (op `get` covers GET/GETNEXT/GETBULK, `set` SET,
///   `any` both; status is an error-status name, lower-cased by snmpsim and looked up in its table, so `genError`,
///   `notWritable`, `wrongValue`, `wrongType`, `noAccess`, ...; `genErr` is NOT recognised and silently ignored).
/// - No answer at all: `OID|TAG:delay|value=V,wait=100000` (a wait over 99999 ms drops the response; a shorter wait
///   blocks snmpsim's single event loop, every endpoint and community with it).
/// - A writable object: `OID|TAG:writecache|value=V` (a SET of the same type is kept in memory and read back; a SET
///   of another type is answered with noSuchInstance in the varbind; `vlist=eq:X:wrongValue` fails SETs of X).
/// - Any object without a variation answers SET with noSuchInstance in the varbind (error-status 0).
public final class SNMPSimPeer: @unchecked Sendable {
    /// An SNMPv3 USM user of the simulated engine. Protocol names are snmpsim's (`--v3-auth-proto`, `--v3-priv-proto`:
    /// MD5, SHA, SHA224, SHA256, SHA384, SHA512; DES, 3DES, AES (128), AES192, AES256, AES192BLMT, AES256BLMT).
    public struct User: Sendable, Hashable {
        public let name: String
        public let authProtocol: String?
        public let authKey: String?
        public let privProtocol: String?
        public let privKey: String?

        public init(_ name: String, auth: (String, String)? = nil, priv: (String, String)? = nil) {
            self.name = name
            authProtocol = auth?.0
            authKey = auth?.1
            privProtocol = priv?.0
            privKey = priv?.1
        }

        var arguments: [String] {
            // snmpsim rejects a protocol without a key, even NONE: no protocol option at all means none.
            var arguments = ["--v3-user=\(name)"]
            if let authProtocol, let authKey { arguments += ["--v3-auth-proto=\(authProtocol)", "--v3-auth-key=\(authKey)"] }
            if let privProtocol, let privKey { arguments += ["--v3-priv-proto=\(privProtocol)", "--v3-priv-key=\(privKey)"] }
            return arguments
        }
    }

    /// `Tests/Peers/.venv/bin/snmpsim-command-responder` of this checkout (or `$SNMPSIM_RESPONDER`).
    public static var responderPath: String {
        if let path = ProcessInfo.processInfo.environment["SNMPSIM_RESPONDER"] { return path }
        let here = URL(fileURLWithPath: #filePath)  // Tests/CWMPTestSupport/SNMPSimPeer.swift
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/.venv/bin/snmpsim-command-responder").path
    }

    /// Nil when the peer can run here; otherwise why not (for a skip message).
    public static var unavailableReason: String? {
        if !FileManager.default.isExecutableFile(atPath: responderPath) {
            return "snmpsim is not installed at \(responderPath) (scripts/install-deps --tests)"
        }
        if SNMPDaemonPeer.toolsDirectory == nil { return "the net-snmp tools (snmpget) are not installed (package snmp)" }
        return nil
    }

    /// Whether this host can bind UDP on ::1 (an IPv6 endpoint is offered only then).
    public static var ipv6LoopbackAvailable: Bool { (try? freeUDPPort(ipv6: true)) != nil }

    /// The UDP ports on 127.0.0.1, one per endpoint, in the order snmpsim numbers them (transport IDs
    /// 1.3.6.1.6.1.1.0, .1, ...).
    public let ports: [Int]
    /// The UDP port on ::1, when `ipv6` was asked for.
    public let ipv6Port: Int?
    /// The first endpoint's port.
    public var port: Int { ports[0] }
    public let directory: URL
    public let communities: [String]
    /// The snmpsim process (-1 once stopped).
    public private(set) var pid: pid_t = -1
    private let logPath: String
    /// The command line and environment of the running process, for `replace(devices:)`.
    private var launch: (arguments: [String], environment: [String: String]) = ([], [:])

    /// Starts snmpsim serving `devices` (community → .snmprec text) on `endpointCount` UDP endpoints on 127.0.0.1
    /// (and one on ::1 with `ipv6`), with `users` as its SNMPv3 users (snmpsim's default user `simulator` when
    /// empty). Returns once the first and the last endpoint answer a GET (bounded: 60 s, snmpsim indexes the data
    /// files at start); throws `PeerUnavailable` otherwise, with snmpsim's output.
    public init(devices: [String: String], endpointCount: Int = 1, ipv6: Bool = false, users: [User] = [],
                engineID: String? = nil) throws {
        if let reason = Self.unavailableReason { throw PeerUnavailable.notStarted(reason) }
        precondition(!devices.isEmpty && endpointCount >= 1)
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("snmpsim-peer-\(getpid())-\(UUID().uuidString)")
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("cache"), withIntermediateDirectories: true)
        for (community, records) in devices {
            try records.write(to: data.appendingPathComponent(community + ".snmprec"), atomically: true, encoding: .utf8)
        }
        communities = devices.keys.sorted()
        logPath = directory.path + "/snmpsim.log"

        // Free ports can be taken between the probe and snmpsim's bind (tests run in parallel): retry a few times.
        var lastLog = ""
        for _ in 0..<3 {
            var candidates: [Int] = []
            var sockets: [Int32] = []
            // Probe all ports while holding them, so that one start does not pick the same port twice.
            for _ in 0..<endpointCount {
                let (port, fd) = try Self.reserveUDPPort(ipv6: false)
                candidates.append(port)
                sockets.append(fd)
            }
            var candidate6: Int?
            if ipv6 {
                let (port, fd) = try Self.reserveUDPPort(ipv6: true)
                candidate6 = port
                sockets.append(fd)
            }
            sockets.forEach { close($0) }

            let global = ["--log-level=error", "--logging-method=stderr", "--cache-dir=\(directory.path)/cache"]
            var arguments = ["--v3-engine-id=\(engineID ?? "auto")"]
            arguments += users.flatMap(\.arguments)
            arguments.append("--data-dir=\(data.path)")
            arguments += candidates.map { "--agent-udpv4-endpoint=127.0.0.1:\($0)" }
            if let candidate6 { arguments.append("--agent-udpv6-endpoint=[::1]:\(candidate6)") }
            // Long engine configurations (fleets) go through snmpsim's own argument file (`--opt=value` words).
            if arguments.count > 64 {
                let file = directory.appendingPathComponent("arguments")
                try arguments.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
                arguments = ["--args-from-file=\(file.path)"]
            }
            arguments = global + arguments
            var environment = ProcessInfo.processInfo.environment
            // snmpsim refuses to run as root unless told to drop privileges to another user, and that user could
            // not read this machine's Python (under /root); the tests run as root on loopback only.
            environment["SNMPSIM_ALLOW_ROOT"] = "true"
            environment["PYTHONDONTWRITEBYTECODE"] = "1"
            let child = try SNMPDaemonPeer.spawn(Self.responderPath, arguments, environment: environment, outputPath: logPath)
            let probes = [("127.0.0.1", candidates[0]), ("127.0.0.1", candidates[candidates.count - 1])]
                + (candidate6.map { [("udp6:[::1]", $0)] } ?? [])
            if Self.waitUntilAnswering(probes, community: communities[0], pid: child) {
                ports = candidates
                ipv6Port = candidate6
                pid = child
                launch = (arguments, environment)
                return
            }
            SNMPDaemonPeer.terminate(child)
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        try? FileManager.default.removeItem(at: directory)
        throw PeerUnavailable.notStarted("snmpsim did not answer: \(lastLog)")
    }

    /// Serves new data: stops snmpsim, replaces the data files (the communities stay those of the start; each must
    /// be in `devices`), drops the index cache and starts it again on the same ports, as an agent whose data changed
    /// between two walks. Sessions to the agent stay valid (UDP). Throws when it does not answer again.
    public func replace(devices: [String: String]) throws {
        precondition(Set(devices.keys) == Set(communities), "replace(devices:) keeps the communities of the start")
        if pid > 0 {
            SNMPDaemonPeer.terminate(pid)
            pid = -1
        }
        let data = directory.appendingPathComponent("data")
        for (community, records) in devices {
            try records.write(to: data.appendingPathComponent(community + ".snmprec"), atomically: true, encoding: .utf8)
        }
        // snmpsim rebuilds an index only when the data file looks newer than it (seconds matter): drop them all.
        let cache = directory.appendingPathComponent("cache")
        for file in (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? [] {
            try? FileManager.default.removeItem(at: cache.appendingPathComponent(file))
        }
        let child = try SNMPDaemonPeer.spawn(Self.responderPath, launch.arguments, environment: launch.environment, outputPath: logPath)
        let probes = [("127.0.0.1", ports[0]), ("127.0.0.1", ports[ports.count - 1])] + (ipv6Port.map { [("udp6:[::1]", $0)] } ?? [])
        guard Self.waitUntilAnswering(probes, community: communities[0], pid: child) else {
            SNMPDaemonPeer.terminate(child)
            throw PeerUnavailable.notStarted("snmpsim did not answer again on its ports: \(log)")
        }
        pid = child
    }

    /// snmpsim's standard output and error so far (errors only: it runs with --log-level=error).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills snmpsim (SIGKILL: the test runner's children may inherit a signal mask that blocks SIGTERM, and
    /// nothing needs saving) and removes the temporary directory.
    public func stop() {
        if pid > 0 {
            SNMPDaemonPeer.terminate(pid)
            pid = -1
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    /// Runs a net-snmp command-line tool against endpoint `endpoint` (v2c with `community` unless `arguments` say
    /// otherwise); `arguments` come before the agent address, `trailing` after it.
    public func tool(_ name: String, _ arguments: [String], _ trailing: [String] = [], endpoint: Int = 0) throws
        -> (status: Int32, output: String) {
        guard let directoryPath = SNMPDaemonPeer.toolsDirectory else { throw PeerUnavailable.notStarted("net-snmp tools missing") }
        return try SNMPDaemonPeer.run(directoryPath + "/" + name, arguments + ["127.0.0.1:\(ports[endpoint])"] + trailing,
                                      environment: SNMPDaemonPeer.hermeticEnvironment(directory: directory))
    }

    /// A fixture's records with some of them replaced: `replacing[OID]` is the new `TAG|VALUE` (e.g.
    /// `2:error|op=get,status=genError`) of that OID's line. Every OID must be in `records`.
    public static func records(_ records: String, replacing: [String: String]) -> String {
        var remaining = replacing
        let lines = records.split(separator: "\n", omittingEmptySubsequences: true).map { line -> String in
            let oid = String(line.prefix { $0 != "|" })
            guard let replacement = remaining.removeValue(forKey: oid) else { return String(line) }
            return oid + "|" + replacement
        }
        precondition(remaining.isEmpty, "OIDs not in the records: \(remaining.keys.sorted())")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Helpers

    /// Binds a UDP socket on the loopback address to port 0 and returns the port and the still-open socket.
    static func reserveUDPPort(ipv6: Bool) throws -> (port: Int, socket: Int32) {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw PeerUnavailable.notStarted("socket") }
        var port = 0
        let bound: Bool
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            port = Int(UInt16(bigEndian: address.sin6_port))
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
        }
        guard bound else {
            close(fd)
            throw PeerUnavailable.notStarted("bind on \(ipv6 ? "::1" : "127.0.0.1")")
        }
        return (port, fd)
    }

    static func freeUDPPort(ipv6: Bool) throws -> Int {
        let (port, fd) = try reserveUDPPort(ipv6: ipv6)
        close(fd)
        return port
    }

    /// Polls every probe address with `snmpget` of sysUpTime-or-anything (a GETNEXT of 1.3.6: any answer, even an
    /// error, means snmpsim is listening) until all answer; false when the process exits or after 60 s.
    static func waitUntilAnswering(_ probes: [(String, Int)], community: String, pid: pid_t) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        let tools = SNMPDaemonPeer.toolsDirectory ?? "/usr/bin"
        var environment = ProcessInfo.processInfo.environment
        environment["MIBS"] = ""
        environment["MIBDIRS"] = "/nonexistent"
        var pending = probes
        while Date() < deadline, !pending.isEmpty {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            let (host, port) = pending[0]
            let probe = try? SNMPDaemonPeer.run(tools + "/snmpgetnext",
                                                ["-v2c", "-c", community, "-t", "0.3", "-r", "0", "\(host):\(port)", "1.3.6"],
                                                environment: environment)
            if probe?.status == 0 { pending.removeFirst() } else { usleep(100_000) }
        }
        return pending.isEmpty
    }
}
