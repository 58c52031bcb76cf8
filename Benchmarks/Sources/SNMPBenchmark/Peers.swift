// The peers this benchmark starts itself, all on 127.0.0.1: Debian's snmpd (configured as
// Tests/CWMPTestSupport/SNMPDaemonPeer.swift does: hermetic, -C, a generated configuration in a temporary directory)
// and snmpsim-command-responder processes serving one recorded .snmprec on many UDP endpoints. posix_spawn, no
// Foundation (the Benchmarks package cannot depend on the test-support target).
#if canImport(Glibc)
import Glibc
#endif

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The environment every net-snmp program of this run gets: no MIB loading, no host snmp.conf, persistent state
/// in the run's temporary directory.
func hermeticEnvironment(directory: String) -> [String] {
    ["MIBS=", "SNMPCONFPATH=\(directory)/nonexistent", "SNMP_PERSISTENT_DIR=\(directory)/persist",
     "PATH=/usr/sbin:/usr/bin:/bin", "SNMPSIM_ALLOW_ROOT=true"]
}

/// A child process with stdout and stderr sent to `outputPath` (or /dev/null).
final class Child {
    let pid: pid_t
    private(set) var exited = false

    init(_ arguments: [String], environment: [String], outputPath: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, nil, &argv, &envp)
        guard result == 0 else { throw BenchmarkError("cannot start \(arguments[0]): error \(result)") }
        pid = child
    }

    /// Waits for the exit; returns the raw wait status.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        exited = true
        return status
    }

    /// SIGTERM, then SIGKILL after 2 s.
    func terminate() {
        guard !exited else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { exited = true; return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        wait()
    }
}

/// `count` distinct UDP ports on 127.0.0.1 that were free a moment ago (all bound at once, then released).
func freeUDPPorts(_ count: Int) throws -> [Int] {
    var sockets: [Int32] = []
    defer { sockets.forEach { close($0) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw BenchmarkError("socket: errno \(errno)") }
        sockets.append(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw BenchmarkError("bind: errno \(errno)") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw BenchmarkError("cannot write \(path)") }
    defer { fclose(file) }
    guard fputs(text, file) >= 0 else { throw BenchmarkError("cannot write \(path)") }
}

func readFile(_ path: String) -> String {
    guard let file = fopen(path, "r") else { return "" }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A temporary directory for the run, removed by `removeTree` at the end.
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/snmp-benchmark-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw BenchmarkError("mkdtemp: errno \(errno)") }
    return String(cString: made)
}

func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/snmp-benchmark-") else { return }
    let child = try? Child(["/bin/rm", "-rf", path], environment: [])
    child?.wait()
}

/// snmpd on 127.0.0.1:`port`, read-only community `public`.
func startSNMPDaemon(directory: String, port: Int) throws -> Child {
    let configuration = directory + "/snmpd.conf"
    _ = mkdir(directory + "/persist", 0o755)
    try writeFile(configuration, """
        [snmp] persistentDir \(directory)/persist
        rocommunity public 127.0.0.1
        sysServices 72

        """)
    return try Child(["/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", configuration, "-p", directory + "/snmpd.pid",
                      "udp:127.0.0.1:\(port)"],
                     environment: hermeticEnvironment(directory: directory), outputPath: directory + "/snmpd.log")
}

/// snmpsim-command-responder serving `dataDirectory` (community = file name) on every port given.
func startSNMPSim(executable: String, directory: String, dataDirectory: String, ports: [Int], index: Int) throws
    -> Child {
    let cache = directory + "/snmpsim-cache-\(index)"
    _ = mkdir(cache, 0o755)
    return try Child([executable, "--data-dir=\(dataDirectory)", "--cache-dir=\(cache)", "--logging-method=null"]
                         + ports.map { "--agent-udpv4-endpoint=127.0.0.1:\($0)" },
                     environment: hermeticEnvironment(directory: directory),
                     outputPath: directory + "/snmpsim-\(index).log")
}
