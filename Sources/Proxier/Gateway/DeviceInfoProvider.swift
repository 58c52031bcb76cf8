// `Device.DeviceInfo.` of the gateway: identity from configuration, live values from the Linux host.
//
// Choices, each because TR-181 leaves room:
// * UpTime is the host's (seconds since the Linux kernel booted, /proc/uptime, CLOCK_BOOTTIME), not the proxier's:
//   the CPE the ACS manages is the box, and a proxier restart is reported separately with a BOOT event.
// * MemoryStatus.Free is MemAvailable (what can be allocated without swapping), not MemFree (which excludes the
//   page cache and reads near zero on a healthy system); kernels older than 3.14 lack it, then MemFree is used.
// * ProcessStatus.CPUUsage is the busy share of CPU time between the previous read and this one (/proc/stat
//   deltas), so no read ever sleeps; the first read, or two reads within one clock tick, report the average since
//   boot or the previous result respectively.
// * Process.{i} is keyed by PID (the engine adopts PIDs as instance numbers while it can). Size is the resident
//   set in KiB ("memory occupied"), Priority 0 (highest) … 39 from the kernel's 20+nice, real-time processes 0,
//   CPUTime is user+system time in ms (clamped at 2^32−1), Command is the command line (or the kernel's name for
//   kernel threads and zombies), cut to TR-181's 256 characters. At most `maximumProcesses` processes are listed
//   (the lowest PIDs), always including the proxier's own. A process that exits between the listing and the read
//   of its values reads as a Zombie with zero counters instead of failing the whole RPC.
#if canImport(Glibc)
import Glibc
#endif

public actor DeviceInfoProvider: DataModelProvider {
    public static let mountPath = "Device.DeviceInfo."

    private let identity: GatewayIdentity
    private let localSettings: GatewayLocalSettingsStore
    private let paths: HostPaths
    private let maximumProcesses: Int
    /// Listed processes are read once per listing; values within this age are served from the listing, so an RPC
    /// sees one consistent snapshot of each process.
    private let snapshotLifetime: Duration = .seconds(1)

    private var lastCPUTimes: CPUTimes?
    private var lastCPUUsage: UInt32 = 0
    private var processSnapshot: [UInt32: ProcessEntry] = [:]
    private var snapshotTime: ContinuousClock.Instant?

    public init(identity: GatewayIdentity, localSettings: GatewayLocalSettingsStore, paths: HostPaths = HostPaths(),
                maximumProcesses: Int = 512) {
        self.identity = identity
        self.localSettings = localSettings
        self.paths = paths
        self.maximumProcesses = max(1, maximumProcesses)
    }

    /// One row of `ProcessStatus.Process.{i}.`, already in TR-181 units.
    struct ProcessEntry: Hashable, Sendable {
        var pid: UInt32
        var command: String
        var sizeKiB: UInt32
        var priority: UInt32
        var cpuTimeMilliseconds: UInt32
        var state: String

        static func exited(_ pid: UInt32) -> ProcessEntry {
            ProcessEntry(pid: pid, command: "", sizeKiB: 0, priority: 0, cpuTimeMilliseconds: 0, state: "Zombie")
        }
    }

    // MARK: Host readings

    func upTime() -> UInt32 {
        HostFiles.read(paths.proc + "/uptime", limit: 4096).flatMap(ProcParsers.uptimeSeconds)?.clampedToUInt32 ?? 0
    }

    func memory() -> (total: UInt32, free: UInt32) {
        let info = HostFiles.read(paths.proc + "/meminfo", limit: 64 << 10).map(ProcParsers.meminfo) ?? [:]
        let total = info["MemTotal"] ?? 0
        let free = min(info["MemAvailable"] ?? info["MemFree"] ?? 0, total)
        return (total.clampedToUInt32, free.clampedToUInt32)
    }

    func cpuUsage() -> UInt32 {
        guard let now = HostFiles.read(paths.proc + "/stat", limit: 256 << 10).flatMap(ProcParsers.cpuTimes) else {
            return lastCPUUsage
        }
        let earlier = lastCPUTimes ?? CPUTimes(busy: 0, total: 0)
        if let usage = now.usage(since: earlier) {
            lastCPUUsage = usage
            lastCPUTimes = now
        } else if now.total < earlier.total {
            // Counters went backwards: start over from this sample.
            lastCPUTimes = now
        }
        return lastCPUUsage
    }

    /// The PIDs to list: the lowest `maximumProcesses`, plus the proxier's own.
    func processIDs() -> [UInt32] {
        var pids = HostFiles.list(paths.proc).compactMap { name -> UInt32? in
            guard name.allSatisfy(\.isASCII), name.allSatisfy(\.isNumber), let pid = UInt32(name), pid > 0 else { return nil }
            return pid
        }.sorted()
        if pids.count > maximumProcesses {
            let own = UInt32(clamping: getpid())
            let keepOwn = pids.contains(own) && !pids.prefix(maximumProcesses).contains(own)
            pids = Array(pids.prefix(maximumProcesses - (keepOwn ? 1 : 0)))
            if keepOwn { pids.append(own) }
        }
        return pids
    }

    func readProcess(_ pid: UInt32) -> ProcessEntry? {
        let directory = paths.proc + "/" + String(pid)
        guard let text = HostFiles.read(directory + "/stat", limit: 4096), let stat = ProcParsers.processStat(text),
              stat.pid == pid else { return nil }
        var command = HostFiles.readBytes(directory + "/cmdline").map { bytes in
            String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingASCIIWhitespace()
        }.map(String.init) ?? ""
        if command.isEmpty { command = stat.name }
        if command.count > 256 { command = String(command.prefix(256)) }
        return ProcessEntry(
            pid: pid, command: command,
            sizeKiB: (stat.residentPages.multipliedReportingOverflow(by: HostConstants.pageSize / 1024).partialValue).clampedToUInt32,
            priority: UInt32(clamping: min(99, max(0, stat.priority))),
            cpuTimeMilliseconds: (stat.cpuTicks.multipliedReportingOverflow(by: 1000).partialValue / HostConstants.clockTicksPerSecond)
                .clampedToUInt32,
            state: Self.processState(stat.state))
    }

    /// proc(5) state letters to TR-181's enumeration; letters unknown to this code read as Sleeping.
    static func processState(_ letter: Character) -> String {
        switch letter {
        case "R", "W": "Running"
        case "S": "Sleeping"
        case "D", "K": "Uninterruptible"
        case "T", "t": "Stopped"
        case "Z", "X", "x": "Zombie"
        case "I", "P": "Idle"
        default: "Sleeping"
        }
    }

    func takeProcessSnapshot() -> [UInt32] {
        var snapshot: [UInt32: ProcessEntry] = [:]
        var listed: [UInt32] = []
        for pid in processIDs() {
            // A process gone between the directory listing and its stat is simply not listed.
            guard let entry = readProcess(pid) else { continue }
            snapshot[pid] = entry
            listed.append(pid)
        }
        processSnapshot = snapshot
        snapshotTime = .now
        return listed
    }

    func process(_ key: String) -> ProcessEntry {
        guard let pid = UInt32(key) else { return .exited(0) }
        if let snapshotTime, snapshotTime.duration(to: .now) < snapshotLifetime, let entry = processSnapshot[pid] {
            return entry
        }
        return readProcess(pid) ?? .exited(pid)
    }

    // MARK: DataModelProvider

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { table in
            switch table.template {
            case "Device.DeviceInfo.ProcessStatus.Process.":
                takeProcessSnapshot().map { ProviderInstance(key: String($0)) }
            case "Device.DeviceInfo.SupportedDataModel.":
                identity.supportedDataModels.indices.map { ProviderInstance(key: String($0 + 1)) }
            default:
                // VendorConfigFile and any other table of DeviceInfo: the gateway has none.
                []
            }
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var result: [String] = []
        result.reserveCapacity(parameters.count)
        var memory: (total: UInt32, free: UInt32)?
        for parameter in parameters {
            let value: String
            switch parameter.template {
            case "Device.DeviceInfo.Manufacturer": value = identity.manufacturer
            case "Device.DeviceInfo.ManufacturerOUI": value = identity.manufacturerOUI
            case "Device.DeviceInfo.ModelName": value = identity.modelName
            case "Device.DeviceInfo.Description": value = identity.description
            case "Device.DeviceInfo.ProductClass": value = identity.productClass
            case "Device.DeviceInfo.SerialNumber": value = identity.serialNumber
            case "Device.DeviceInfo.HardwareVersion": value = identity.hardwareVersion
            case "Device.DeviceInfo.SoftwareVersion": value = identity.softwareVersion
            case "Device.DeviceInfo.ProvisioningCode": value = localSettings.current.provisioningCode
            case "Device.DeviceInfo.UpTime": value = String(upTime())
            case "Device.DeviceInfo.MemoryStatus.Total", "Device.DeviceInfo.MemoryStatus.Free":
                let read = memory ?? self.memory()
                memory = read
                value = String(parameter.template.hasSuffix("Total") ? read.total : read.free)
            case "Device.DeviceInfo.ProcessStatus.CPUUsage": value = String(cpuUsage())
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.PID":
                value = String(process(parameter.instanceKeys.last ?? "").pid)
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.Command": value = process(parameter.instanceKeys.last ?? "").command
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.Size": value = String(process(parameter.instanceKeys.last ?? "").sizeKiB)
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.Priority":
                value = String(process(parameter.instanceKeys.last ?? "").priority)
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.CPUTime":
                value = String(process(parameter.instanceKeys.last ?? "").cpuTimeMilliseconds)
            case "Device.DeviceInfo.ProcessStatus.Process.{i}.State": value = process(parameter.instanceKeys.last ?? "").state
            case "Device.DeviceInfo.SupportedDataModel.{i}.URL", "Device.DeviceInfo.SupportedDataModel.{i}.URN",
                 "Device.DeviceInfo.SupportedDataModel.{i}.Features":
                guard let index = parameter.instanceKeys.last.flatMap({ Int($0) }), identity.supportedDataModels.indices.contains(index - 1) else {
                    throw ProxierError(.unknownPath, "\(parameter) does not exist")
                }
                let model = identity.supportedDataModels[index - 1]
                value = parameter.template.hasSuffix("URL") ? model.url
                    : parameter.template.hasSuffix("URN") ? model.urn : model.features.joined(separator: ",")
            default:
                throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway's DeviceInfo")
            }
            result.append(value)
        }
        return result
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        let entries = values.indices.compactMap { index -> ProviderSetValuesError.Entry? in
            values[index].path.template == "Device.DeviceInfo.ProvisioningCode" ? nil
                : .init(index: index, faultCode: .attemptToSetNonWritableParameter, reason: "\(values[index].path) is not writable on the gateway")
        }
        if !entries.isEmpty { throw ProviderSetValuesError(entries: entries) }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        try await validateValues(values)
        if let code = values.last(where: { $0.path.template == "Device.DeviceInfo.ProvisioningCode" })?.value {
            localSettings.update { $0.provisioningCode = code }
        }
        return .applied
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        throw ProxierError(.unknownPath, "\(table) is not a table the ACS can add to")
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        throw ProxierError(.unknownPath, "\(instance) is not an instance the ACS can delete")
    }
}
