// Helpers for the gateway tests: a fabricated /proc + /sys tree in a temporary directory, an identity, and a check
// of every value of a model against the schema.
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import Testing
@testable import Proxier

/// A temporary directory with `proc/` and `sys/` subtrees written by the test; removed by `remove()`.
final class FakeHost: Sendable {
    let root: String

    init() throws {
        var template = Array("/tmp/cwmp-gateway-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let created else { throw ProxierError(.providerFailure, "mkdtemp failed") }
        root = String(cString: created)
    }

    var paths: HostPaths {
        HostPaths(proc: root + "/proc", sys: root + "/sys", timeSynchronizedFlag: root + "/run/synchronized")
    }

    /// Writes `text` to `relativePath` (`proc/uptime`), creating directories.
    func write(_ relativePath: String, _ text: String) {
        let full = root + "/" + relativePath
        var directory = ""
        for part in full.split(separator: "/").dropLast() {
            directory += "/" + part
            mkdir(directory, 0o755)
        }
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(full)")
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func delete(_ relativePath: String) { Self.removeTree(root + "/" + relativePath) }

    func remove() { Self.removeTree(root) }

    static func removeTree(_ path: String) {
        var info = Glibc.stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in HostFiles.list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// A /proc/[pid]/stat line in the kernel's format.
    static func statLine(pid: Int, name: String, state: String = "S", utime: Int = 0, stime: Int = 0, priority: Int = 20, rss: Int = 0) -> String {
        "\(pid) (\(name)) \(state) 1 1 1 0 -1 4194304 100 0 0 0 \(utime) \(stime) 0 0 \(priority) 0 1 0 212544 3133440 \(rss) 18446744073709551615 0 0\n"
    }

    /// A plausible host: two processes, one Ethernet interface with a default route, loopback, one LAN neighbour.
    func writeTypicalHost() {
        write("proc/uptime", "5000.25 9000.00\n")
        write("proc/meminfo", "MemTotal:        2048000 kB\nMemFree:          100000 kB\nMemAvailable:    1024000 kB\n")
        write("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n")
        write("proc/1/stat", Self.statLine(pid: 1, name: "init", utime: 100, stime: 50, rss: 300))
        write("proc/1/cmdline", "/sbin/init\0splash\0")
        write("proc/77/stat", Self.statLine(pid: 77, name: "kworker/0:1", state: "I", priority: 0))
        write("proc/77/cmdline", "")
        write("proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
              + "wan0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
        write("proc/net/arp", "IP address       HW type     Flags       HW address            Mask     Device\n"
              + "192.0.2.1        0x1         0x2         02:FC:00:00:00:05     *        wan0\n"
              + "192.168.1.20     0x1         0x2         AA:BB:CC:00:11:22     *        lan0\n"
              + "192.168.1.21     0x1         0x0         00:00:00:00:00:00     *        lan0\n")
        writeInterface("wan0", flags: "0x1003", operstate: "up", mtu: "1500", address: "02:fc:00:00:00:01", type: "1", speed: "1000")
        writeInterface("lan0", flags: "0x1002", operstate: "down", mtu: "1500", address: "02:fc:00:00:00:02", type: "1", speed: nil)
        writeInterface("lo", flags: "0x9", operstate: "unknown", mtu: "65536", address: "00:00:00:00:00:00", type: "772", speed: nil)
    }

    func writeInterface(_ name: String, flags: String, operstate: String, mtu: String, address: String, type: String, speed: String?,
                        counter: UInt64 = 5_000_000_000) {
        let directory = "sys/class/net/\(name)/"
        write(directory + "flags", flags + "\n")
        write(directory + "operstate", operstate + "\n")
        write(directory + "mtu", mtu + "\n")
        write(directory + "address", address + "\n")
        write(directory + "type", type + "\n")
        if let speed { write(directory + "speed", speed + "\n") }
        for file in ["tx_bytes", "rx_bytes", "tx_packets", "rx_packets", "tx_errors", "rx_errors", "tx_dropped", "rx_dropped",
                     "multicast", "collisions"] {
            write(directory + "statistics/" + file, "\(counter)\n")
        }
    }
}

enum GatewayFixtures {
    static let identity = GatewayIdentity(manufacturer: "Example Networks", manufacturerOUI: "00D09E", productClass: "cwmp-proxy",
                                          serialNumber: "GW-0001", hardwareVersion: "x86_64", softwareVersion: "0.1.0-test",
                                          provisioningCode: "PC1")

    static let settings = ManagementServerSettings(url: "https://acs.example.net/cwmp", username: "gw", password: "acs-s3cret-pw",
                                                   periodicInformInterval: 300, connectionRequestUsername: "cr",
                                                   connectionRequestPassword: "cr-s3cret-pw")

    static func model(hooks: GatewayHooks = GatewayHooks(), settings: ManagementServerSettings = settings) async throws -> GatewayDataModel {
        try await makeGatewayDataModel(identity: identity, settings: settings, hooks: hooks)
    }
}

/// Checks every value against its parameter's schema; returns the failures as "name = value: reason".
func schemaViolations(_ values: [ParameterValueStruct], tree: SchemaTree) -> [String] {
    values.compactMap { value -> String? in
        guard let path = try? DataModelPath(parsing: value.name), let parameter = tree.parameter(atTemplate: path.template) else {
            return "\(value.name): not in the schema"
        }
        do throws(ProxierError) {
            _ = try parameter.validate(value.value, declaredType: value.type)
            return nil
        } catch {
            return "\(value.name) = \(value.value.debugDescription): \(error.reason)"
        }
    }
}

/// The next element of a stream, or `nil` after `seconds`.
func next<Element: Sendable>(_ stream: AsyncStream<Element>, within seconds: Int = 5) async -> Element? {
    await withTaskGroup(of: Element?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
