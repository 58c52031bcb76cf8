// SNMP benchmark (issue 5): the proxier's SNMP client (SNMPBridge) against net-snmp's own library loop, in the same
// run, against the same agents on loopback:
//   (a) sequential v2c GET latency against snmpd: `snmp_sess_synch_response` on one session vs the bridge's GET
//       awaited one at a time; rounds alternate so drifting machine load hits both; median of per-round ratios;
//   (b) table-walk rows/s against snmpd (default: the whole 1.3.6.1.2.1 subtree): a synchronous GETBULK loop vs
//       `walk`, same max-repetitions, alternating rounds;
//   (c) GETs/s with M sessions in flight at once (100 against snmpd; one per agent against the snmpsim fleet): one
//       raw poll loop over M async sessions vs M tasks awaiting the bridge;
//   (d) N snmpsim agents (default 500) walked concurrently, recorded from snmpd into one .snmprec: bridge vs the raw
//       async loop vs `snmpbulkwalk` processes with bounded parallelism; total time, rows/s, failures (must be 0).
// Every figure is a ratio to the baseline measured in the same run; absolute figures are printed for context only.
//
//   swift build -c release --product SNMPBenchmark && .build/release/SNMPBenchmark
import CNetSNMP
import CWMPClient
import Proxier
import SNMPBridge
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var gets = 3_000
    var rounds = 5
    /// interfaces (ifTable): a table whose size does not change while the benchmark runs (the whole 1.3.6.1.2.1
    /// does: snmpd reloads its process and connection tables, which other jobs on the machine change).
    var walkRoot = "1.3.6.1.2.1.2"
    var walkRounds = 5
    var walksPerRound = 10
    var sessions = 100
    var getsPerSession = 50
    var agents = 500
    var simProcesses = 2
    var fleetGets = 20
    var bulkwalkParallelism = 16
    var maxRepetitions = 25
    /// The subtrees of snmpd recorded into the fleet's .snmprec (system, interfaces, icmp, tcp, udp, ifMIB).
    var recordRoots = ["1.3.6.1.2.1.1", "1.3.6.1.2.1.2", "1.3.6.1.2.1.5", "1.3.6.1.2.1.6", "1.3.6.1.2.1.7"]
    /// At most this many OIDs of the recorded subtrees go into the .snmprec (the first ones, in order).
    var recordLimit = 300
    var skipFleet = false
    /// Keep the run's temporary directory (configuration, .snmprec, peer logs) instead of removing it.
    var keepDirectory = false
    /// Only the bridge's sequential GETs, `--gets` × `--rounds` (for `perf record`), no baseline.
    var bridgeOnly = false
    var snmpsim = ""

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let booleans = ["--skip-fleet", "--bridge-only", "--keep-directory"]
            let value = booleans.contains(flag) ? "" : (iterator.next() ?? "")
            switch flag {
            case "--skip-fleet": skipFleet = true
            case "--keep-directory": keepDirectory = true
            case "--bridge-only": bridgeOnly = true
            case "--gets": gets = max(1, Int(value) ?? gets)
            case "--rounds": rounds = max(1, Int(value) ?? rounds)
            case "--walk-root": walkRoot = value
            case "--walk-rounds": walkRounds = max(1, Int(value) ?? walkRounds)
            case "--walks-per-round": walksPerRound = max(1, Int(value) ?? walksPerRound)
            case "--sessions": sessions = max(1, Int(value) ?? sessions)
            case "--gets-per-session": getsPerSession = max(1, Int(value) ?? getsPerSession)
            case "--agents": agents = max(1, Int(value) ?? agents)
            case "--snmpsim-processes": simProcesses = max(1, Int(value) ?? simProcesses)
            case "--record-limit": recordLimit = max(1, Int(value) ?? recordLimit)
            case "--fleet-gets": fleetGets = max(1, Int(value) ?? fleetGets)
            case "--bulkwalk-parallelism": bulkwalkParallelism = max(1, Int(value) ?? bulkwalkParallelism)
            case "--max-repetitions": maxRepetitions = max(1, Int(value) ?? maxRepetitions)
            case "--snmpsim": snmpsim = value
            default:
                print("""
                    usage: SNMPBenchmark [--gets N] [--rounds R] [--walk-root OID] [--walk-rounds R] [--walks-per-round W] [--sessions M]
                                         [--gets-per-session K] [--agents N] [--snmpsim-processes P] [--fleet-gets K] [--record-limit N]
                                         [--bulkwalk-parallelism P] [--max-repetitions R] [--snmpsim PATH]
                                         [--skip-fleet] [--bridge-only] [--keep-directory]
                    """)
                exit(2)
            }
        }
        if snmpsim.isEmpty { snmpsim = repositoryRoot + "/Tests/Peers/.venv/bin/snmpsim-command-responder" }
    }
}

/// The package root (two levels above Benchmarks/), from this file's path.
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)   // Benchmarks/Sources/SNMPBenchmark/main.swift
    return parts.joined(separator: "/")
}()

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
}

/// User + system CPU seconds of this process (all threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return "\((value * scale).rounded() / scale)"
}

func netSNMPOID(_ identifier: SNMPObjectIdentifier) -> [oid] { identifier.components.map { oid($0) } }

let sysDescr = SNMPObjectIdentifier("1.3.6.1.2.1.1.1.0")!

/// A measured loop: wall seconds, CPU seconds (this process) and its result.
func measureSync<T>(_ body: () throws -> T) rethrows -> (wall: Double, cpu: Double, result: T) {
    let cpu = processCPUSeconds()
    let start = monotonicSeconds()
    let result = try body()
    return (monotonicSeconds() - start, processCPUSeconds() - cpu, result)
}

func measureAsync<T>(_ body: () async throws -> T) async rethrows -> (wall: Double, cpu: Double, result: T) {
    let cpu = processCPUSeconds()
    let start = monotonicSeconds()
    let result = try await body()
    return (monotonicSeconds() - start, processCPUSeconds() - cpu, result)
}

let options = Options(CommandLine.arguments)
/// The run's temporary directory (snmpd's configuration, the .snmprec, logs), removed at the end.
let directory: String = {
    do { return try makeTemporaryDirectory() } catch { print("error: \(error)"); exit(1) }
}()
/// The peers started so far (stopped at the end). Touched by the one benchmark task only.
nonisolated(unsafe) var children: [Child] = []
let manager = SNMPManager()
/// The variant whose tasks prefer the bridge's I/O thread as their executor (`SNMPManager.ioExecutor`).
let ioExecutor: (any TaskExecutor)? = manager.ioExecutor

func stopPeers() {
    for child in children { child.terminate() }
    children = []
}

func agent(port: Int, timeout: Duration = .seconds(2), retries: Int = 2, tag: Int = 0) -> SNMPAgent {
    // Distinct timeouts make distinct SNMPAgent values, hence distinct net-snmp sessions to the same agent.
    SNMPAgent(host: "127.0.0.1", port: port, credentials: .v2c(community: Secret("public")),
              timeout: timeout + .microseconds(tag), retries: retries, maxRepetitions: options.maxRepetitions)
}

/// Starts snmpd on a free port; the bridge's first answered GET (which also runs net-snmp's `init_snmp` on the
/// bridge's I/O thread, before any raw loop here touches net-snmp) is the readiness check. Bounded: 5 attempts.
func startDaemon() async throws -> Int {
    for _ in 0..<5 {
        let port = try freeUDPPorts(1)[0]
        let child = try startSNMPDaemon(directory: directory, port: port)
        children.append(child)
        let probe = manager.session(for: agent(port: port, timeout: .milliseconds(200), retries: 0))
        for _ in 0..<50 {
            if (try? await probe.get([sysDescr]))?.count == 1 {
                manager.close(probe.agent)
                return port
            }
        }
        manager.close(probe.agent)
        child.terminate()
    }
    throw BenchmarkError("snmpd did not answer (log: \(directory)/snmpd.log)")
}

func run() async throws {
    print("SNMP benchmark: bridge (SNMPBridge) vs net-snmp's library loop, same run, loopback")
    let port = try await startDaemon()
    print("snmpd on 127.0.0.1:\(port)")
    let bridge = manager.session(for: agent(port: port))
    _ = try await bridge.get([sysDescr])
    guard let raw = RawSession(host: "127.0.0.1", port: port, community: "public", timeout: .seconds(2), retries: 2)
    else { throw BenchmarkError("raw net-snmp session did not open") }
    let rawName = netSNMPOID(sysDescr)
    // Warm-up of both sides.
    _ = raw.sequentialGETs(rawName, count: 200)
    _ = try await bridgeSequentialGETs(bridge, sysDescr, count: 200)

    if options.bridgeOnly {
        for round in 1...options.rounds {
            let result = try await measureAsync { try await bridgeSequentialGETs(bridge, sysDescr, count: options.gets) }
            print("round \(round): bridge \(format(result.wall / Double(options.gets) * 1e6)) µs/GET wall, "
                  + "\(format(result.cpu / Double(options.gets) * 1e6)) µs CPU/GET")
        }
        return
    }

    // (a) Sequential GET latency.
    print("\n(a) sequential v2c GETs of sysDescr.0 against snmpd, \(options.gets) per round, rounds alternate "
          + "(raw first in odd rounds, bridge first in even ones)")
    var latencyRatios: [Double] = []
    var rawPerGET: [Double] = []
    var bridgePerGET: [Double] = []
    var rawCPU: [Double] = []
    var bridgeCPU: [Double] = []
    var executorRatios: [Double] = []
    var executorPerGET: [Double] = []
    var executorCPU: [Double] = []
    for round in 1...options.rounds {
        let rawResult: (wall: Double, cpu: Double, result: Int)
        let bridgeResult: (wall: Double, cpu: Double, result: Int)
        if round % 2 == 1 {
            rawResult = measureSync { raw.sequentialGETs(rawName, count: options.gets) }
            bridgeResult = try await measureAsync { try await bridgeSequentialGETs(bridge, sysDescr, count: options.gets) }
        } else {
            bridgeResult = try await measureAsync { try await bridgeSequentialGETs(bridge, sysDescr, count: options.gets) }
            rawResult = measureSync { raw.sequentialGETs(rawName, count: options.gets) }
        }
        guard rawResult.result == options.gets, bridgeResult.result == options.gets else {
            throw BenchmarkError("unanswered GETs: raw \(rawResult.result), bridge \(bridgeResult.result) of \(options.gets)")
        }
        let rawMicroseconds = rawResult.wall / Double(options.gets) * 1e6
        let bridgeMicroseconds = bridgeResult.wall / Double(options.gets) * 1e6
        rawPerGET.append(rawMicroseconds)
        bridgePerGET.append(bridgeMicroseconds)
        rawCPU.append(rawResult.cpu / Double(options.gets) * 1e6)
        bridgeCPU.append(bridgeResult.cpu / Double(options.gets) * 1e6)
        latencyRatios.append(bridgeMicroseconds / rawMicroseconds)
        var line = "  round \(round): raw \(format(rawMicroseconds)) µs/GET (CPU \(format(rawCPU.last!))), bridge "
            + "\(format(bridgeMicroseconds)) µs/GET (CPU \(format(bridgeCPU.last!))), ratio \(format(bridgeMicroseconds / rawMicroseconds, 2))"
        if let ioExecutor {
            let result = try await measureAsync {
                try await bridgeSequentialGETs(bridge, sysDescr, count: options.gets, executor: ioExecutor)
            }
            guard result.result == options.gets else { throw BenchmarkError("unanswered GETs (ioExecutor)") }
            let microseconds = result.wall / Double(options.gets) * 1e6
            executorPerGET.append(microseconds)
            executorCPU.append(result.cpu / Double(options.gets) * 1e6)
            executorRatios.append(microseconds / rawMicroseconds)
            line += "; bridge on ioExecutor \(format(microseconds)) µs/GET (CPU \(format(executorCPU.last!))), ratio "
                + format(microseconds / rawMicroseconds, 2)
        }
        print(line)
    }
    print("  median: raw \(format(median(rawPerGET))) µs/GET = \(Int(1e6 / median(rawPerGET))) GET/s, bridge "
          + "\(format(median(bridgePerGET))) µs/GET = \(Int(1e6 / median(bridgePerGET))) GET/s; latency ratio "
          + "bridge/raw median \(format(median(latencyRatios), 2)) (min \(format(latencyRatios.min()!, 2)), "
          + "max \(format(latencyRatios.max()!, 2))); best-of ratio (fastest round each) "
          + "\(format(bridgePerGET.min()! / rawPerGET.min()!, 2)); goal ≤ 1.25")
    print("  CPU per GET (this process, all threads; snmpd excluded): raw \(format(median(rawCPU))) µs, bridge "
          + "\(format(median(bridgeCPU))) µs")
    if !executorRatios.isEmpty {
        print("  bridge on ioExecutor: \(format(median(executorPerGET))) µs/GET = \(Int(1e6 / median(executorPerGET))) "
              + "GET/s, CPU \(format(median(executorCPU))) µs/GET; latency ratio median \(format(median(executorRatios), 2)) "
              + "(min \(format(executorRatios.min()!, 2)), max \(format(executorRatios.max()!, 2))); best-of ratio "
              + format(executorPerGET.min()! / rawPerGET.min()!, 2))
    }

    // (a2) The provider path: GetParameterValues-shaped reads through SNMPProfileProvider, which now runs its
    // request glue on the I/O thread (`SNMPQuerying.preferredExecutor`); "before" = the same provider over a session
    // whose preference is hidden. One parameter (DeviceInfo.Description = one GET of sysDescr.0, the PDU of (a))
    // compares with raw per GET; IP.Interface lo's four parameters (a walk of ifName for the instance key, then one
    // GET of three varbinds) shows an RPC of several requests, as a ratio to "before".
    let providerCount = max(1, options.gets / 3)
    let profiles = try SNMPBuiltinProfiles.compiled()
    let provider = SNMPProfileProvider(client: bridge, profiles: profiles, agentID: "benchmark")
    let providerBefore = SNMPProfileProvider(client: NoPreferenceSession(session: bridge), profiles: profiles, agentID: "benchmark")
    let onePath = [ProviderPath(template: "Device.DeviceInfo.Description")]
    let interfacePaths = ["Name", "Type", "MaxMTUSize", "Status"].map {
        ProviderPath(template: "Device.IP.Interface.{i}." + $0, instanceKeys: ["ifName=lo"])
    }
    print("\n(a2) provider path: \(providerCount) sequential provider.values(of:) per round and variant, rounds alternate")
    _ = try await providerSequentialReads(provider, onePath, count: 100)
    _ = try await providerSequentialReads(providerBefore, onePath, count: 100)
    var providerRatios: [Double] = []
    var providerBeforeRatios: [Double] = []
    var interfaceRatios: [Double] = []
    for round in 1...options.rounds {
        func timed(_ provider: SNMPProfileProvider, _ paths: [ProviderPath], _ count: Int) async throws -> Double {
            let result = try await measureAsync { try await providerSequentialReads(provider, paths, count: count) }
            guard result.result == count else { throw BenchmarkError("provider path: \(result.result) of \(count) reads complete") }
            return result.wall / Double(count) * 1e6
        }
        let rawMicroseconds: Double
        let now: Double
        let before: Double
        if round % 2 == 1 {
            rawMicroseconds = measureSync { raw.sequentialGETs(rawName, count: providerCount) }.wall / Double(providerCount) * 1e6
            now = try await timed(provider, onePath, providerCount)
            before = try await timed(providerBefore, onePath, providerCount)
        } else {
            before = try await timed(providerBefore, onePath, providerCount)
            now = try await timed(provider, onePath, providerCount)
            rawMicroseconds = measureSync { raw.sequentialGETs(rawName, count: providerCount) }.wall / Double(providerCount) * 1e6
        }
        let interfaceCount = max(1, providerCount / 5)
        let interfaceBefore = try await timed(providerBefore, interfacePaths, interfaceCount)
        let interfaceNow = try await timed(provider, interfacePaths, interfaceCount)
        providerRatios.append(now / rawMicroseconds)
        providerBeforeRatios.append(before / rawMicroseconds)
        interfaceRatios.append(interfaceNow / interfaceBefore)
        print("  round \(round): raw \(format(rawMicroseconds)) µs/GET; provider 1 parameter \(format(now)) µs/RPC, ratio "
              + "\(format(now / rawMicroseconds, 2)) (before: \(format(before)) µs, \(format(before / rawMicroseconds, 2))); "
              + "IP.Interface 4 parameters \(format(interfaceNow)) µs/RPC vs before \(format(interfaceBefore)) µs, "
              + "ratio \(format(interfaceNow / interfaceBefore, 2))")
    }
    print("  median: provider (1 parameter) / raw GET \(format(median(providerRatios), 2)) (before: "
          + "\(format(median(providerBeforeRatios), 2))); IP.Interface RPC now / before \(format(median(interfaceRatios), 2))")

    // (b) Table walk.
    guard let walkRoot = SNMPObjectIdentifier(options.walkRoot) else { throw BenchmarkError("bad --walk-root") }
    print("\n(b) GETBULK walks of \(walkRoot) (max-repetitions \(options.maxRepetitions)) against snmpd, "
          + "\(options.walksPerRound) walks per round and side, rounds alternate")
    var walkRatios: [Double] = []
    var executorWalkRatios: [Double] = []
    for round in 1...options.walkRounds {
        func rawWalks() throws -> Int {
            var rows = 0
            for _ in 0..<options.walksPerRound {
                guard let walked = raw.bulkWalk(netSNMPOID(walkRoot), maxRepetitions: options.maxRepetitions), walked > 0
                else { throw BenchmarkError("the raw walk failed") }
                rows += walked
            }
            return rows
        }
        func bridgeWalks(_ executor: (any TaskExecutor)?) async throws -> Int {
            var rows = 0
            for _ in 0..<options.walksPerRound { rows += try await bridgeWalk(bridge, walkRoot, executor: executor) }
            return rows
        }
        let rawResult: (wall: Double, cpu: Double, result: Int)
        let bridgeResult: (wall: Double, cpu: Double, result: Int)
        if round % 2 == 1 {
            rawResult = try measureSync { try rawWalks() }
            bridgeResult = try await measureAsync { try await bridgeWalks(nil) }
        } else {
            bridgeResult = try await measureAsync { try await bridgeWalks(nil) }
            rawResult = try measureSync { try rawWalks() }
        }
        let rawRows = rawResult.result
        let rawRate = Double(rawRows) / rawResult.wall
        let bridgeRate = Double(bridgeResult.result) / bridgeResult.wall
        walkRatios.append(rawRate / bridgeRate)
        var line = "  round \(round): raw \(rawRows) rows in \(format(rawResult.wall * 1e3)) ms = \(Int(rawRate)) rows/s; "
            + "bridge \(bridgeResult.result) rows in \(format(bridgeResult.wall * 1e3)) ms = \(Int(bridgeRate)) rows/s; "
            + "time ratio per row bridge/raw \(format(rawRate / bridgeRate, 2))"
        if let ioExecutor {
            let result = try await measureAsync { try await bridgeWalks(ioExecutor) }
            let rate = Double(result.result) / result.wall
            executorWalkRatios.append(rawRate / rate)
            line += "; on ioExecutor \(Int(rate)) rows/s, ratio \(format(rawRate / rate, 2))"
        }
        print(line)
    }
    print("  median time-per-row ratio bridge/raw \(format(median(walkRatios), 2))"
          + (executorWalkRatios.isEmpty ? "" : ", on ioExecutor \(format(median(executorWalkRatios), 2))")
          + " (rows: every walk of both sides; they agree unless snmpd's tables change)")

    // (c) Many sessions against snmpd.
    print("\n(c) \(options.sessions) sessions × \(options.getsPerSession) GETs, all in flight at once, against snmpd")
    let manySessions = (0..<options.sessions).map { manager.session(for: agent(port: port, tag: 1 + $0)) }
    _ = await bridgeConcurrentGETs(manySessions, sysDescr, count: 1)  // opens the sessions
    let agents = Array(repeating: (host: "127.0.0.1", port: port), count: options.sessions)
    var concurrentRatios: [Double] = []
    var executorConcurrentRatios: [Double] = []
    for round in 1...3 {
        let fleet = RawFleet(agents: agents, community: "public", timeout: .seconds(2), retries: 2,
                             work: .gets(name: rawName, count: options.getsPerSession))
        let rawResult: (wall: Double, cpu: Double, result: (answered: Int, failures: Int))
        let bridgeResult: (wall: Double, cpu: Double, result: (answered: Int, failures: Int))
        if round % 2 == 1 {
            rawResult = measureSync { fleet.run() }
            bridgeResult = await measureAsync { await bridgeConcurrentGETs(manySessions, sysDescr, count: options.getsPerSession) }
        } else {
            bridgeResult = await measureAsync { await bridgeConcurrentGETs(manySessions, sysDescr, count: options.getsPerSession) }
            rawResult = measureSync { fleet.run() }
        }
        let total = options.sessions * options.getsPerSession
        guard rawResult.result.answered == total, bridgeResult.result.answered == total else {
            throw BenchmarkError("unanswered GETs: raw \(rawResult.result), bridge \(bridgeResult.result) of \(total)")
        }
        let rawRate = Double(total) / rawResult.wall
        let bridgeRate = Double(total) / bridgeResult.wall
        concurrentRatios.append(bridgeRate / rawRate)
        var line = "  round \(round): raw \(Int(rawRate)) GET/s (CPU \(format(rawResult.cpu / Double(total) * 1e6)) µs/GET), "
            + "bridge \(Int(bridgeRate)) GET/s (CPU \(format(bridgeResult.cpu / Double(total) * 1e6)) µs/GET), "
            + "throughput ratio bridge/raw \(format(bridgeRate / rawRate, 2))"
        if let ioExecutor {
            let result = await measureAsync {
                await bridgeConcurrentGETs(manySessions, sysDescr, count: options.getsPerSession, executor: ioExecutor)
            }
            guard result.result.answered == total else { throw BenchmarkError("unanswered GETs (ioExecutor)") }
            let rate = Double(total) / result.wall
            executorConcurrentRatios.append(rate / rawRate)
            line += "; on ioExecutor \(Int(rate)) GET/s, ratio \(format(rate / rawRate, 2))"
        }
        print(line)
    }
    print("  median throughput ratio bridge/raw \(format(median(concurrentRatios), 2))"
          + (executorConcurrentRatios.isEmpty ? "" : ", on ioExecutor \(format(median(executorConcurrentRatios), 2))"))

    var summary = "RESULT latency_ratio=\(format(median(latencyRatios), 2)) raw_us=\(format(median(rawPerGET))) "
        + "bridge_us=\(format(median(bridgePerGET))) walk_ratio=\(format(median(walkRatios), 2)) "
        + "concurrent_snmpd_ratio=\(format(median(concurrentRatios), 2))"
        + (executorRatios.isEmpty ? "" : " executor_latency_ratio=\(format(median(executorRatios), 2)) "
            + "executor_us=\(format(median(executorPerGET))) executor_walk_ratio=\(format(median(executorWalkRatios), 2)) "
            + "executor_concurrent_snmpd_ratio=\(format(median(executorConcurrentRatios), 2))")
        + " provider_ratio=\(format(median(providerRatios), 2)) provider_before_ratio=\(format(median(providerBeforeRatios), 2))"
        + " provider_interface_now_over_before=\(format(median(interfaceRatios), 2))"
    if !options.skipFleet {
        summary += try await fleetBenchmark(snmpdPort: port, bridge: bridge)
    }
    print("\n" + summary)
}

/// (c) and (d) against the snmpsim fleet. Returns the RESULT fields.
func fleetBenchmark(snmpdPort: Int, bridge: SNMPAgentSession) async throws -> String {
    guard access(options.snmpsim, X_OK) == 0 else {
        throw BenchmarkError("\(options.snmpsim) missing (ln -s /work/main/Tests/Peers/.venv Tests/Peers/.venv, or --snmpsim PATH, or --skip-fleet)")
    }
    // Record snmpd's subtrees through the bridge into one .snmprec (community "public" = the file name).
    let dataDirectory = directory + "/data"
    _ = mkdir(dataDirectory, 0o755)
    var lines: [String] = []
    for root in options.recordRoots {
        guard let oid = SNMPObjectIdentifier(root) else { throw BenchmarkError("bad record root \(root)") }
        lines += try await bridge.walk(oid).compactMap(snmprecLine)
    }
    lines = Array(lines.prefix(options.recordLimit))
    try writeFile(dataDirectory + "/public.snmprec", lines.joined(separator: "\n") + "\n")
    print("\nsnmpsim fleet: \(options.agents) agents on \(options.simProcesses) snmpsim-command-responder processes, "
          + "each agent serving \(lines.count) OIDs recorded from snmpd (\(options.recordRoots.joined(separator: ", ")))")

    let ports = try freeUDPPorts(options.agents)
    let perProcess = (ports.count + options.simProcesses - 1) / options.simProcesses
    for index in 0..<options.simProcesses {
        let slice = Array(ports.dropFirst(index * perProcess).prefix(perProcess))
        if slice.isEmpty { continue }
        children.append(try startSNMPSim(executable: options.snmpsim, directory: directory, dataDirectory: dataDirectory,
                                         ports: slice, index: index))
    }
    // Ready when every agent answers a GET (bounded: 120 s; snmpsim indexes the data file first).
    let deadline = monotonicSeconds() + 120
    var waiting = ports
    while !waiting.isEmpty {
        guard monotonicSeconds() < deadline else {
            throw BenchmarkError("\(waiting.count) snmpsim agents did not answer within 120 s (logs in \(directory))")
        }
        // One GET per waiting agent, all at once; snmpsim answers them one after another, so the timeout must cover
        // a whole process's queue (a short one leaves stale requests that delay the next round further).
        let probe = RawFleet(agents: waiting.map { ("127.0.0.1", $0) }, community: "public", timeout: .seconds(10),
                             retries: 0, work: .gets(name: netSNMPOID(sysDescr), count: 1))
        _ = probe.run()
        waiting = zip(waiting, probe.members).filter { $0.1.answered == 0 }.map(\.0)
        if !waiting.isEmpty { usleep(200_000) }
    }
    let fleetAgents = ports.map { (host: "127.0.0.1", port: $0) }
    // snmpsim answers one request at a time per process (~10 ms per GETBULK of 25 here): with hundreds of agents
    // in flight, a request may queue for seconds. A generous timeout keeps retransmissions from adding load.
    let fleetTimeout = Duration.seconds(10)
    let fleetRetries = 1
    let sessions = ports.map { manager.session(for: agent(port: $0, timeout: fleetTimeout, retries: fleetRetries)) }
    _ = await bridgeConcurrentGETs(sessions, sysDescr, count: 1)  // opens the sessions

    // (c) GETs/s across the fleet.
    let total = ports.count * options.fleetGets
    print("\n(c) \(ports.count) snmpsim agents × \(options.fleetGets) GETs, all agents in flight at once")
    let rawGETs = measureSync {
        RawFleet(agents: fleetAgents, community: "public", timeout: fleetTimeout, retries: fleetRetries,
                 work: .gets(name: netSNMPOID(sysDescr), count: options.fleetGets)).run()
    }
    let bridgeGETs = await measureAsync { await bridgeConcurrentGETs(sessions, sysDescr, count: options.fleetGets) }
    let rawGETRate = Double(rawGETs.result.answered) / rawGETs.wall
    let bridgeGETRate = Double(bridgeGETs.result.answered) / bridgeGETs.wall
    print("  raw: \(rawGETs.result.answered)/\(total) answered, \(rawGETs.result.failures) failed agents, "
          + "\(Int(rawGETRate)) GET/s; bridge: \(bridgeGETs.result.answered)/\(total) answered, "
          + "\(bridgeGETs.result.failures) failed agents, \(Int(bridgeGETRate)) GET/s; ratio bridge/raw "
          + "\(format(bridgeGETRate / rawGETRate, 2)) (snmpsim, not the client, is the bottleneck here)")

    // (d) Walks of the whole recorded tree on every agent at once.
    let root = SNMPObjectIdentifier("1.3.6.1.2.1")!
    print("\n(d) \(ports.count) snmpsim agents walked concurrently (GETBULK, max-repetitions \(options.maxRepetitions), "
          + "root \(root))")
    let bridgeWalks = await measureAsync { await bridgeConcurrentWalks(sessions, root) }
    let rawWalks = measureSync {
        RawFleet(agents: fleetAgents, community: "public", timeout: fleetTimeout, retries: fleetRetries,
                 work: .walk(root: netSNMPOID(root), maxRepetitions: options.maxRepetitions)).run()
    }
    let bulkwalk = try snmpbulkwalkFleet(ports: ports, root: root)
    var executorWalks: (wall: Double, cpu: Double, result: (rows: Int, failures: Int, firstError: String?))?
    if let ioExecutor {
        executorWalks = await measureAsync { await bridgeConcurrentWalks(sessions, root, executor: ioExecutor) }
    }
    let expected = ports.count * lines.count
    func line(_ name: String, rows: Int, failures: Int, wall: Double) -> String {
        "  \(name): \(rows)/\(expected) rows, \(failures) failed agents, \(format(wall, 2)) s, \(Int(Double(rows) / wall)) rows/s"
    }
    print(line("bridge (\(ports.count) tasks awaiting walk)", rows: bridgeWalks.result.rows, failures: bridgeWalks.result.failures,
               wall: bridgeWalks.wall)
          + (bridgeWalks.result.firstError.map { "; first error: \($0)" } ?? ""))
    if let executorWalks {
        print(line("bridge, tasks on ioExecutor", rows: executorWalks.result.rows, failures: executorWalks.result.failures,
                   wall: executorWalks.wall) + (executorWalks.result.firstError.map { "; first error: \($0)" } ?? ""))
    }
    print(line("raw net-snmp async loop", rows: rawWalks.result.answered, failures: rawWalks.result.failures,
               wall: rawWalks.wall))
    print(line("snmpbulkwalk, \(options.bulkwalkParallelism) processes at a time", rows: bulkwalk.rows,
               failures: bulkwalk.failures, wall: bulkwalk.wall))
    print("  time ratio bridge/raw \(format(bridgeWalks.wall / rawWalks.wall, 2)), bridge/snmpbulkwalk "
          + "\(format(bridgeWalks.wall / bulkwalk.wall, 2))")
    return " fleet_agents=\(ports.count) fleet_get_ratio=\(format(bridgeGETRate / rawGETRate, 2)) "
        + "fleet_bridge_gets_per_s=\(Int(bridgeGETRate)) walk500_bridge_s=\(format(bridgeWalks.wall, 2)) "
        + "walk500_bridge_failures=\(bridgeWalks.result.failures) walk500_ratio_raw=\(format(bridgeWalks.wall / rawWalks.wall, 2)) "
        + "walk500_ratio_snmpbulkwalk=\(format(bridgeWalks.wall / bulkwalk.wall, 2))"
}

/// `snmpbulkwalk -v2c -Cr<max-repetitions> -On` over every agent, `--bulkwalk-parallelism` processes at a time, each
/// writing to its own file; rows = lines with " = " (one per varbind) except its endOfMibView lines, failures =
/// non-zero exits or no rows.
func snmpbulkwalkFleet(ports: [Int], root: SNMPObjectIdentifier) throws -> (rows: Int, failures: Int, wall: Double) {
    let start = monotonicSeconds()
    var running: [pid_t: Int] = [:]
    var children: [pid_t: Child] = [:]
    var failed: Set<Int> = []
    var next = 0
    func reap() {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, 0)
        guard pid > 0, let port = running.removeValue(forKey: pid) else { return }
        children[pid] = nil
        if status != 0 { failed.insert(port) }
    }
    while next < ports.count || !running.isEmpty {
        if next < ports.count && running.count < options.bulkwalkParallelism {
            let port = ports[next]
            let child = try Child(["/usr/bin/snmpbulkwalk", "-v2c", "-c", "public", "-t", "10", "-r", "1",
                                   "-Cr\(options.maxRepetitions)", "-On", "127.0.0.1:\(port)", root.description],
                                  environment: hermeticEnvironment(directory: directory),
                                  outputPath: directory + "/bulkwalk-\(port).txt")
            running[child.pid] = port
            children[child.pid] = child
            next += 1
        } else {
            reap()
        }
    }
    let wall = monotonicSeconds() - start
    var rows = 0
    for port in ports {
        let count = readFile(directory + "/bulkwalk-\(port).txt").split(separator: "\n").filter { $0.contains(" = ") && !$0.contains("No more variables left") }.count
        if count == 0 { failed.insert(port) }
        rows += count
    }
    return (rows, failed.count, wall)
}

