// The UPnP DM test peers of Tests/Peers/upnp-dm (README.md there) started inside a NetworkNamespace: the
// async-upnp-client device (dm_device.py), the sloppy and hostile devices, and Rygel as a BasicManagement:2 peer.
// Every peer prints one JSON line per device when ready and takes control commands on stdin. Foundation is fine
// here: tests only.
import Foundation

public final class UPnPDMPeer: @unchecked Sendable {
    /// `Tests/Peers/upnp-dm`, found from this file's path.
    public static let folder: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/upnp-dm")

    /// The peers' Python: `Tests/Peers/.venv` (scripts/install-deps --tests), where async-upnp-client lives.
    public static let python: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/.venv/bin/python")

    /// Nil when the Python peers can run here; otherwise why not.
    public static let unavailableReason: String? = {
        if let reason = NetworkNamespace.unavailableReason { return reason }
        if !FileManager.default.isExecutableFile(atPath: python.path) {
            return "UPnP DM peers need Tests/Peers/.venv (scripts/install-deps --tests)"
        }
        return nil
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    /// Rygel (Debian package `rygel`) and ping for its diagnostics, or why not.
    public static let rygelUnavailableReason: String? = {
        if let reason = unavailableReason { return reason }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/rygel") { return "rygel is not installed" }
        return nil
    }()

    /// One simulated device as announced on the peer's stdout.
    public struct Device: Sendable, Equatable {
        public var index: Int
        /// `uuid:…`
        public var udn: String
        /// The description URL (`LOCATION`).
        public var location: String
        public var httpPort: Int
        public var bootID: Int
        public var serialNumber: String
        /// The root device's UDN: the same as `udn` unless dm_device.py runs with `--embedded`.
        public var rootUDN: String
    }

    public let namespace: NetworkNamespace
    public let process: NamespaceProcess
    public private(set) var devices: [Device]
    private var cursor: Int

    /// dm_device.py: `count` ManageableDevice:2 devices with CMS:2, BMS:2 and SMS:2 on the namespace address.
    /// `arguments` are extra flags (`--announce-interval 1`, `--max-age 4`, `--no-patches`, …).
    /// With `ipv6` the devices use the namespace's IPv6 ULA: SSDP on FF02::C, HTTP on `http://[fd77:…::2]:port`.
    public static func device(in namespace: NetworkNamespace, count: Int = 1, ipv6: Bool = false,
                              arguments: [String] = [], timeout: Double = 60) throws -> UPnPDMPeer {
        let address = ipv6 ? ["--address", namespace.namespaceAddress6, "--interface", namespace.namespaceInterface]
                           : ["--address", namespace.namespaceAddress]
        return try UPnPDMPeer(namespace: namespace, script: "dm_device.py",
                              arguments: address + ["--count", "\(count)"] + arguments, timeout: timeout)
    }

    /// sloppy_device.py with the named quirks (README.md lists them; `all` turns every one on).
    public static func sloppy(in namespace: NetworkNamespace, quirks: [String], arguments: [String] = [],
                              timeout: Double = 30) throws -> UPnPDMPeer {
        try UPnPDMPeer(namespace: namespace, script: "sloppy_device.py",
                       arguments: ["--address", namespace.namespaceAddress, "--quirks", quirks.joined(separator: ",")]
                           + arguments, timeout: timeout)
    }

    /// hostile_device.py answering with `mode` (xxe, entity-bomb, huge, endless, slowloris, deep-nesting,
    /// wrong-content-type, endless-headers, malformed, empty, wrong-response, http-503, bogus-fault); `target` picks
    /// what is hostile: the description, the SCPD or the SOAP response ("description", "scpd", "soap").
    public static func hostile(in namespace: NetworkNamespace, mode: String, target: String = "description",
                               arguments: [String] = [], timeout: Double = 30) throws -> UPnPDMPeer {
        try UPnPDMPeer(namespace: namespace, script: "hostile_device.py",
                       arguments: ["--address", namespace.namespaceAddress, "--mode", mode, "--target", target]
                           + arguments, timeout: timeout)
    }

    /// Rygel with only BasicManagement:2 diagnostics (rygel/rygel_bms.py), pinned to the namespace's interface.
    public static func rygel(in namespace: NetworkNamespace, port: Int = 49160, timeout: Double = 60) throws -> UPnPDMPeer {
        if let reason = rygelUnavailableReason { throw NetworkNamespaceUnavailable(reason) }
        return try UPnPDMPeer(namespace: namespace, script: "rygel/rygel_bms.py",
                              arguments: ["--interface", namespace.namespaceInterface,
                                          "--address", namespace.namespaceAddress, "--port", "\(port)"],
                              timeout: timeout)
    }

    private init(namespace: NetworkNamespace, script: String, arguments: [String], timeout: Double) throws {
        if let reason = Self.unavailableReason { throw NetworkNamespaceUnavailable(reason) }
        self.namespace = namespace
        process = try namespace.run([Self.python.path, "-u", Self.folder.appendingPathComponent(script).path]
                                    + arguments)
        guard let ready = process.waitForLine(timeout: timeout, { Self.json($0)?["event"] as? String == "all-ready" })
        else {
            process.stop()
            throw NetworkNamespaceUnavailable("\(script) did not start: \(process.standardErrorText.suffix(2000))")
        }
        devices = process.outputLines[..<ready.index].compactMap { line in
            guard let object = Self.json(line), object["event"] as? String == "ready" else { return nil }
            return Self.device(object)
        }
        cursor = ready.index + 1
    }

    deinit { stop() }

    /// Stops the peer: stdin EOF (byebye for every device), then SIGTERM, then SIGKILL.
    public func stop() { process.stop() }

    /// Sends one control command and returns its JSON answer (`{"ok": true, …}`); throws when the peer says no or
    /// does not answer in time.
    @discardableResult
    public func command(_ line: String, timeout: Double = 30) throws -> [String: Any] {
        try process.send(line)
        guard let answer = process.waitForLine(from: cursor, timeout: timeout, { Self.json($0)?["ok"] != nil }) else {
            if process.hasEnded { throw process.endedError(request: "`\(line)`") }
            throw NetworkNamespaceUnavailable("no answer to `\(line)` within \(timeout) s: \(process.standardErrorText.suffix(2000))")
        }
        cursor = answer.index + 1
        let object = Self.json(answer.line) ?? [:]
        guard object["ok"] as? Bool == true else {
            throw NetworkNamespaceUnavailable("`\(line)` failed: \(object["error"] ?? answer.line)")
        }
        return object
    }

    /// Sets a parameter on the device's side (read-only ones too): CurrentConfigurationVersion goes up and a
    /// ConfigurationUpdate event goes out.
    public func set(_ path: String, _ value: String, device: Int = 0) throws {
        try command("set \(device) \(path) \(value)")
    }

    /// byebye, HTTP down for `downtime` seconds (default: the peer's --reboot-downtime), back with BOOTID+1.
    /// Returns the device as it came back.
    @discardableResult
    public func reboot(device: Int = 0, downtime: Double? = nil) throws -> Device {
        try command("reboot \(device)" + (downtime.map { " \($0)" } ?? ""))
        return try refresh(device: device)
    }

    /// Waits until the peer reports `device` back from a restart with a BOOTID above `bootID` (its `rebooted` line,
    /// printed once HTTP is up again) and returns the device as it came back. For restarts the test does not order
    /// itself (Reboot, BaselineReset, a firmware install): the peer restarts on its own timer, so a test that goes on
    /// at once races the restart. The wait blocks a thread of its own, not one of Swift's concurrency pool.
    @discardableResult
    public func waitForReboot(device index: Int = 0, after bootID: Int, timeout: Double = 30) async throws -> Device {
        let process = process
        let line = await Self.offPool {
            process.waitForLine(timeout: timeout) { line in
                guard let object = Self.json(line), object["event"] as? String == "rebooted",
                      object["index"] as? Int ?? 0 == index else { return false }
                return object["boot_id"] as? Int ?? 0 > bootID
            }
        }
        guard let line, let object = Self.json(line.line), let device = Self.device(object) else {
            throw NetworkNamespaceUnavailable("device \(index) did not come back with a BOOTID above \(bootID) within "
                                              + "\(timeout) s: \(process.standardErrorText.suffix(2000))")
        }
        if let position = devices.firstIndex(where: { $0.index == index }) { devices[position] = device }
        return device
    }

    /// Runs a blocking wait on a thread of its own: a blocked thread of Swift's concurrency pool (two threads on a
    /// two-core machine) stalls every other test's async work in the process.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    /// Sends the ssdp:byebye set and stops announcing and answering searches (HTTP stays up).
    public func byebye(device: Int = 0) throws { try command("byebye \(device)") }

    /// BMS tests and SMS operations (running or started later) stay InProgress until `release`: lets a test act on
    /// one that is still running however slowly a loaded machine runs the peer's timers.
    public func hold(device: Int = 0) throws { try command("hold \(device)") }

    /// Held BMS tests and SMS operations complete (at once, or when their delay ends).
    public func release(device: Int = 0) throws { try command("release \(device)") }

    /// Stops announcing and answering searches without a byebye: the lease expires at the control point.
    public func silence(device: Int = 0) throws { try command("silence \(device)") }

    /// Announces again (same BOOTID) and answers searches.
    public func resume(device: Int = 0) throws { try command("resume \(device)") }

    /// The device forgets every GENA subscription: a renewal then gets 412.
    public func dropSubscriptions(device: Int = 0) throws { try command("drop-subscriptions \(device)") }

    /// The next NOTIFY to every current subscriber of the device jumps `count` SEQ numbers (a SEQ gap).
    public func skipSequence(_ count: Int = 1, device: Int = 0) throws { try command("skip-seq \(device) \(count)") }

    /// Sends ssdp:update (NEXTBOOTID = BOOTID+1) and then announces with BOOTID+1, without a reboot.
    public func ssdpUpdate(device: Int = 0) throws { try command("ssdp-update \(device)") }

    /// CONFIGID.UPNP.ORG + 1 in later announcements and search replies; returns the new value.
    @discardableResult
    public func bumpConfigID(device: Int = 0) throws -> Int {
        try command("bump-configid \(device)")["config_id"] as? Int ?? 0
    }

    /// The next `count` calls of `action` (or every action with "*") fail with UPnP error `code`.
    public func fail(_ action: String, code: Int, count: Int = 1, device: Int = 0) throws {
        try command("fail \(device) \(action) \(code) \(count)")
    }

    /// The device's state as the peer sees it (boot_id, config_version, subscriber counts, …).
    public func status(device: Int = 0) throws -> [String: Any] {
        let answer = try command("status \(device)")
        return (answer["status"] as? [[String: Any]])?.first ?? [:]
    }

    private func refresh(device index: Int) throws -> Device {
        let status = try status(device: index)
        guard let device = Self.device(status) else { throw NetworkNamespaceUnavailable("bad status \(status)") }
        if let position = devices.firstIndex(where: { $0.index == index }) { devices[position] = device }
        return device
    }

    static func json(_ line: String) -> [String: Any]? {
        guard line.hasPrefix("{") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    static func device(_ object: [String: Any]) -> Device? {
        guard let udn = object["udn"] as? String, let location = object["location"] as? String else { return nil }
        return Device(index: object["index"] as? Int ?? 0, udn: udn, location: location,
                      httpPort: object["http_port"] as? Int ?? 0, bootID: object["boot_id"] as? Int ?? 0,
                      serialNumber: object["serial"] as? String ?? "", rootUDN: object["root_udn"] as? String ?? udn)
    }
}
