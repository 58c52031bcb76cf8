// Debian's net-snmp agent (`snmpd`) as a subprocess on a 127.0.0.1 UDP port, for every test target that needs a
// real SNMP agent. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `snmpd`, started per test with a generated configuration in a temporary directory and stopped at the end.
///
/// What the agent offers (all on 127.0.0.1 only):
/// - v1/v2c: `public` read-only, `private` read-write, plus `extraCommunities` (read-only) and
///   `extraWriteCommunities` (read-write).
/// - v3: one user per entry of `SNMPDaemonPeer.users` (every auth × priv protocol pair Debian's build supports,
///   plus a noAuthNoPriv user), all read-write at their own security level.
/// - Writable objects: sysContact.0 and sysLocation.0 (deliberately NOT set in the configuration: a value from the
///   configuration makes them notWritable), and the SNMP-TARGET-MIB `snmpTargetAddrTable` (1.3.6.1.6.3.12.1.2),
///   whose rows are created and destroyed through `snmpTargetAddrRowStatus` (column 9).
/// - Read-only objects: sysDescr.0 (SET gives notWritable on v2c/v3, noSuchName on v1), the whole ifTable.
///
/// The agent is hermetic: `-C` skips /etc/snmp, its persistent state lives in the temporary directory, and MIB
/// loading is off (Debian ships no IETF MIBs).
public final class SNMPDaemonPeer: @unchecked Sendable {
    /// One SNMPv3 USM user of the agent. Protocol names are net-snmp's command-line spellings (`-a`, `-x`).
    public struct User: Sendable, Hashable {
        public enum Level: String, Sendable { case noAuthNoPriv, authNoPriv, authPriv }
        public let name: String
        public let authProtocol: String?
        public let authPassword: String?
        public let privProtocol: String?
        public let privPassword: String?

        public var level: Level {
            authProtocol == nil ? .noAuthNoPriv : (privProtocol == nil ? .authNoPriv : .authPriv)
        }

        public init(_ name: String, auth: (String, String)? = nil, priv: (String, String)? = nil) {
            self.name = name
            authProtocol = auth?.0
            authPassword = auth?.1
            privProtocol = priv?.0
            privPassword = priv?.1
        }

        /// The net-snmp command-line arguments that authenticate as this user.
        public var cliArguments: [String] {
            var arguments = ["-v3", "-l", level.rawValue, "-u", name]
            if let authProtocol, let authPassword { arguments += ["-a", authProtocol, "-A", authPassword] }
            if let privProtocol, let privPassword { arguments += ["-x", privProtocol, "-X", privPassword] }
            return arguments
        }
    }

    /// Every v3 user the agent knows. Passwords are per protocol so that a test can tell which one a session used.
    public static let users: [User] = [
        User("noauth-user"),
        User("md5-user", auth: ("MD5", "md5-auth-pass")),
        User("md5-des-user", auth: ("MD5", "md5-auth-pass"), priv: ("DES", "md5-des-priv-pass")),
        User("md5-aes-user", auth: ("MD5", "md5-auth-pass"), priv: ("AES", "md5-aes-priv-pass")),
        User("sha-user", auth: ("SHA", "sha-auth-pass")),
        User("sha-des-user", auth: ("SHA", "sha-auth-pass"), priv: ("DES", "sha-des-priv-pass")),
        User("sha-aes-user", auth: ("SHA", "sha-auth-pass"), priv: ("AES", "sha-aes-priv-pass")),
        User("sha224-aes-user", auth: ("SHA-224", "sha224-auth-pass"), priv: ("AES", "sha224-priv-pass")),
        User("sha256-user", auth: ("SHA-256", "sha256-auth-pass")),
        User("sha256-des-user", auth: ("SHA-256", "sha256-auth-pass"), priv: ("DES", "sha256-des-priv-pass")),
        User("sha256-aes-user", auth: ("SHA-256", "sha256-auth-pass"), priv: ("AES", "sha256-aes-priv-pass")),
        User("sha384-aes-user", auth: ("SHA-384", "sha384-auth-pass"), priv: ("AES", "sha384-priv-pass")),
        User("sha512-aes256-user", auth: ("SHA-512", "sha512-auth-pass"), priv: ("AES-256", "sha512-priv-pass")),
        User("sha256-aes192-user", auth: ("SHA-256", "sha256-auth-pass"), priv: ("AES-192", "sha256-a192-pass")),
    ]

    public static func user(_ name: String) -> User { users.first { $0.name == name }! }

    public static let snmpdPath = "/usr/sbin/snmpd"

    /// Where the net-snmp command-line tools are (`snmpget`, `snmpwalk`, ...), or nil when the `snmp` package is missing.
    public static var toolsDirectory: String? {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/snmpget") ? "/usr/bin" : nil
    }

    /// Nil when the peer can run here; otherwise why not (for a skip message).
    public static var unavailableReason: String? {
        if !FileManager.default.isExecutableFile(atPath: snmpdPath) {
            return "snmpd is not installed (scripts/install-deps --tests installs it)"
        }
        if toolsDirectory == nil { return "the net-snmp tools (snmpget) are not installed (package snmp)" }
        return nil
    }

    public let port: Int
    public let directory: URL
    /// The snmpd process (-1 once stopped).
    public private(set) var pid: pid_t = -1
    /// `host:port` as net-snmp peers name it.
    public var address: String { "127.0.0.1:\(port)" }

    public init(extraCommunities: [String] = [], extraWriteCommunities: [String] = []) throws {
        if let reason = Self.unavailableReason { throw PeerUnavailable.notStarted(reason) }
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("snmpd-peer-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("persist"),
                                                withIntermediateDirectories: true)
        var lines = [
            "[snmp] persistentDir \(directory.path)/persist",
            "rocommunity public 127.0.0.1",
            "rwcommunity private 127.0.0.1",
            "sysServices 72",
        ]
        lines += extraCommunities.map { "rocommunity \($0) 127.0.0.1" }
        lines += extraWriteCommunities.map { "rwcommunity \($0) 127.0.0.1" }
        for user in Self.users {
            var line = "createUser \(user.name)"
            if let authProtocol = user.authProtocol, let authPassword = user.authPassword {
                line += " \(authProtocol) \"\(authPassword)\""
                if let privProtocol = user.privProtocol, let privPassword = user.privPassword {
                    line += " \(privProtocol) \"\(privPassword)\""
                }
            }
            lines.append(line)
            let level = switch user.level { case .noAuthNoPriv: "noauth"; case .authNoPriv: "auth"; case .authPriv: "priv" }
            lines.append("rwuser \(user.name) \(level)")
        }
        let configuration = directory.appendingPathComponent("snmpd.conf")
        try (lines.joined(separator: "\n") + "\n").write(to: configuration, atomically: true, encoding: .utf8)

        // A free port can be taken between our probe and snmpd's bind (tests run in parallel): retry a few times.
        var lastLog = ""
        for _ in 0..<5 {
            let candidate = try Self.freeUDPPort()
            let logPath = directory.path + "/snmpd-\(candidate).log"
            let child = try Self.spawn(Self.snmpdPath,
                                       ["-f", "-Lo", "-C", "-c", configuration.path, "-p", directory.path + "/snmpd.pid",
                                        "udp:127.0.0.1:\(candidate)"],
                                       environment: Self.hermeticEnvironment(directory: directory), outputPath: logPath)
            switch Self.waitUntilAnswering(port: candidate, pid: child, directory: directory) {
            case .answering:
                port = candidate
                pid = child
                return
            case .exited:
                break  // already reaped: its pid may belong to another process by now, so no kill
            case .silent:
                Self.terminate(child)
            }
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        try? FileManager.default.removeItem(at: directory)
        throw PeerUnavailable.notStarted("snmpd did not answer: \(lastLog)")
    }

    /// Kills snmpd (SIGKILL: the test runner's children may inherit a signal mask that blocks SIGTERM, and nothing
    /// of the agent's state needs saving) and removes the temporary directory.
    public func stop() {
        if pid > 0 {
            Self.terminate(pid)
            pid = -1
        }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    /// Runs a net-snmp command-line tool (`snmpget`, `snmpwalk`, `snmpbulkwalk`, `snmpset`, ...) against this agent
    /// with the same hermetic environment; `arguments` come before the agent address, `trailing` after it.
    /// Returns the exit status and standard output. The tools' own timeouts (-t/-r) bound the call.
    public func tool(_ name: String, _ arguments: [String], _ trailing: [String] = []) throws
        -> (status: Int32, output: String) {
        guard let directoryPath = Self.toolsDirectory else { throw PeerUnavailable.notStarted("net-snmp tools missing") }
        return try Self.run(directoryPath + "/" + name, arguments + [address] + trailing,
                            environment: Self.hermeticEnvironment(directory: directory))
    }

    /// `snmpwalk -On` (or `snmpbulkwalk`) output as (numeric OID, the tool's value text), in order.
    public func walkLines(_ root: String, arguments: [String] = ["-v2c", "-c", "public"],
                          bulk: Bool = false) throws -> [(oid: String, value: String)] {
        let result = try tool(bulk ? "snmpbulkwalk" : "snmpwalk", arguments + ["-On"], [root])
        var lines: [(oid: String, value: String)] = []
        for line in result.output.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let separator = line.range(of: " = ") else {
                // A value spread over several lines (a multi-line STRING): part of the previous line's value.
                if !lines.isEmpty { lines[lines.count - 1].value += "\n" + line }
                continue
            }
            var oid = String(line[..<separator.lowerBound])
            if oid.hasPrefix(".") { oid.removeFirst() }
            lines.append((oid, String(line[separator.upperBound...])))
        }
        return lines
    }

    /// Runs a program to completion and returns its exit status and standard output (standard error discarded).
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit hung here on an exited child.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]) throws
        -> (status: Int32, output: String) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw PeerUnavailable.notStarted("pipe") }
        let child: pid_t
        do {
            child = try spawn(path, arguments, environment: environment, outputFD: fds[1])
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count > 0 { output += buffer[0..<count] } else if count == 0 || errno != EINTR { break }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: output, as: UTF8.self))
    }

    // MARK: - Helpers

    static func hermeticEnvironment(directory: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["MIBS"] = ""
        environment["MIBDIRS"] = "/nonexistent"
        environment["SNMP_PERSISTENT_DIR"] = directory.path + "/persist"
        // The tools' own configuration (client persistent files, engine boots) stays in the temporary directory too.
        environment["SNMPCONFPATH"] = directory.path + "/client-conf"
        return environment
    }

    static func freeUDPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw PeerUnavailable.notStarted("socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw PeerUnavailable.notStarted("bind") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts a program with standard input from /dev/null and standard output and error to `outputPath` (or
    /// the given descriptor; /dev/null when neither).
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], outputPath: String? = nil,
                      outputFD: Int32? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let outputFD {
            posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            let target = outputPath ?? "/dev/null"
            posix_spawn_file_actions_addopen(&actions, 1, target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // A clean signal mask and default dispositions: the test runner's threads may block signals.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw PeerUnavailable.notStarted("posix_spawn \(path): \(status)") }
        return pid
    }

    enum StartOutcome { case answering, exited, silent }

    /// Polls with `snmpget` (bounded: 10 s) until the agent answers, or gives up when the process exits (then it has
    /// been reaped here) or the time is up (then it still runs).
    static func waitUntilAnswering(port: Int, pid: pid_t, directory: URL) -> StartOutcome {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return .exited }
            let probe = try? run((toolsDirectory ?? "/usr/bin") + "/snmpget",
                                 ["-v2c", "-c", "public", "-t", "0.2", "-r", "0", "127.0.0.1:\(port)", "1.3.6.1.2.1.1.3.0"],
                                 environment: hermeticEnvironment(directory: directory))
            if probe?.status == 0 { return .answering }
            usleep(50_000)
        }
        return .silent
    }

    /// SIGKILL and reap a child that has not been reaped yet (`kill(0, …)` would signal the whole process group).
    static func terminate(_ pid: pid_t) {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
