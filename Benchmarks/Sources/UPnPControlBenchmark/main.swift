// UPnP control point CPU per action (issue 4): GetValues round trips against one dm_device.py on loopback, this
// process's own CPU time per action (build the SOAP request, send it, parse the response and the
// ParameterValueList) as a ratio to async-upnp-client's client (Tests/Peers/upnp-dm/bench_client.py) doing the same
// calls against the same device in the same run. The device is the shared bottleneck and a separate process, so
// client CPU is compared, not wall time. Rounds alternate Swift / Python so drifting machine load hits both.
//
//   swift run -c release UPnPControlBenchmark --calls 2000 --rounds 3
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import UPnPDM

struct Options {
    var calls = 2000
    var warmup = 100
    var rounds = 3
    /// bench_client.py's default path; the device answers it with every DeviceInfo parameter.
    var paths: [String] = []
    /// Only the Swift rounds (for profiling the control point under perf); no ratio.
    var swiftOnly = false
    /// Variants of the client's threading, to see where its CPU goes (the proxier uses neither):
    /// `--event-loops N`: its own MultiThreadedEventLoopGroup of N threads instead of NIO's singleton (cores);
    /// `--nio-global-executor`: the NIO singleton installed as Swift Concurrency's global executor, so the awaiting
    /// task and the channel share threads instead of hopping between the cooperative pool and an event loop.
    var eventLoops = 0
    var nioGlobalExecutor = false
    /// The timed calls from the cooperative pool instead of the device's event loop (two thread crossings per
    /// action). The proxier's provider runs on the device's loop (UPnPDMProvider), so that is the default.
    var callerOnPool = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = ["--swift-only", "--nio-global-executor", "--caller-on-pool"].contains(flag) ? ""
                : (iterator.next() ?? "")
            switch flag {
            case "--swift-only": swiftOnly = true
            case "--nio-global-executor": nioGlobalExecutor = true
            case "--caller-on-pool": callerOnPool = true
            case "--event-loops": eventLoops = max(0, Int(value) ?? 0)
            case "--calls": calls = max(1, Int(value) ?? calls)
            case "--warmup": warmup = max(1, Int(value) ?? warmup)
            case "--rounds": rounds = max(1, Int(value) ?? rounds)
            case "--path": paths.append(value)
            default:
                print("usage: UPnPControlBenchmark [--calls N] [--warmup N] [--rounds R] [--path P]... [--swift-only] [--event-loops N] [--nio-global-executor] [--caller-on-pool]")
                exit(2)
            }
        }
        if paths.isEmpty { paths = ["/UPnP/DM/DeviceInfo/"] }
    }
}

/// The package root (two levels above Benchmarks/), found from this file's path so `swift run` works from anywhere.
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)   // Benchmarks/Sources/UPnPControlBenchmark/main.swift
    return parts.joined(separator: "/")
}()

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}

struct SwiftRound {
    var userPerCall: Double
    var systemPerCall: Double
    var wallPerCall: Double
    var parameters: Int
    var cpuPerCall: Double { userPerCall + systemPerCall }
}

/// `calls` sequential GetValues, timed by this process's CPU (every thread: the NIO event loop included), run on
/// the device's event loop as UPnPDMProvider runs them (`callerOnPool`: from the cooperative pool instead).
func swiftRound(_ client: ConfigurationManagementClient, paths: [String], calls: Int,
                callerOnPool: Bool) async throws -> SwiftRound {
    try await withTaskExecutorPreference(callerOnPool ? nil : client.preferredExecutor) {
        try await timedRound(client, paths: paths, calls: calls)
    }
}

func timedRound(_ client: ConfigurationManagementClient, paths: [String], calls: Int) async throws -> SwiftRound {
    var parameters = 0
    let cpu = processCPUTimes()
    let wall = monotonicSeconds()
    for _ in 0..<calls {
        parameters = try await client.getValues(paths).count
    }
    let cpuEnd = processCPUTimes()
    let wallUsed = monotonicSeconds() - wall
    return SwiftRound(userPerCall: (cpuEnd.user - cpu.user) / Double(calls) * 1e6,
                      systemPerCall: (cpuEnd.system - cpu.system) / Double(calls) * 1e6,
                      wallPerCall: wallUsed / Double(calls) * 1e6, parameters: parameters)
}

struct PythonRound { var cpuPerCall: Double; var wallPerCall: Double; var parameters: Int }

/// bench_client.py in its own process: it reports its own CPU (time.process_time) over the timed calls only,
/// so interpreter start-up, imports, the description fetch and its warm-up are not counted.
func pythonRound(python: String, location: String, paths: [String], calls: Int, warmup: Int) throws -> PythonRound {
    var arguments = [python, "\(repositoryRoot)/Tests/Peers/upnp-dm/bench_client.py", "--location", location,
                     "--calls", "\(calls)", "--warmup", "\(warmup)"]
    for path in paths { arguments += ["--path", path] }
    let child = try Child(arguments)
    let output = child.read()
    let status = child.wait()
    guard status == 0, let cpu = jsonNumber("cpu_per_call_us", in: output),
          let wall = jsonNumber("wall_seconds", in: output),
          let parameters = jsonNumber("parameters_per_call", in: output) else {
        throw BenchmarkError.peer("bench_client.py exited \(status): \(output)")
    }
    return PythonRound(cpuPerCall: cpu, wallPerCall: wall / Double(calls) * 1e6, parameters: Int(parameters))
}

let options = Options(CommandLine.arguments)
// Must happen first, on the main thread, before any task is enqueued.
let installedNIOExecutor = options.nioGlobalExecutor
    ? NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() : false
let python = "\(repositoryRoot)/Tests/Peers/.venv/bin/python"
guard access(python, X_OK) == 0 else {
    print("UPnPControlBenchmark: \(python) missing (scripts/install-deps --tests, or link /work/main's venv)")
    exit(1)
}
// Quiet logs: a log line per action would be measured as client CPU.
LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }

/// The measurement; false after printing why it could not be made. Errors (device or client) propagate to the
/// caller, which prints them: a failed run ends with a message and exit status 1, not a trap.
func run() async throws -> Bool {
    // One device on loopback: SSDP multicast pinned to 127.0.0.1 never leaves lo. A long announce interval keeps
    // its NOTIFYs out of the measurement.
    let device = try Child([python, "\(repositoryRoot)/Tests/Peers/upnp-dm/dm_device.py", "--address", "127.0.0.1",
                            "--announce-interval", "600"], keepStdinOpen: true)
    defer { device.terminate() }
    let ready = device.read(until: { $0.contains("\"all-ready\"") })
    guard let location = jsonString("location", in: ready) else {
        print("UPnPControlBenchmark: dm_device.py did not report ready: \(ready)")
        return false
    }

    let eventLoopGroup: any EventLoopGroup = options.eventLoops > 0
        ? MultiThreadedEventLoopGroup(numberOfThreads: options.eventLoops) : MultiThreadedEventLoopGroup.singleton
    let httpClient = UPnPHTTPClient(configuration: .init(limits: .init(maximumBodyBytes: 4 * 1024 * 1024)),
                                    eventLoopGroup: eventLoopGroup)
    let description = try await httpClient.fetchDeviceDescription(location: location)
    guard let cms = description.allDevices.lazy.compactMap({ $0.service(type: ConfigurationManagementClient.serviceType) }).first else {
        print("UPnPControlBenchmark: no ConfigurationManagement:2 in \(location)")
        return false
    }
    let client = ConfigurationManagementClient(invoker: UPnPControlClient(httpClient: httpClient), service: cms.endpoint)
    print("device \(location), CMS control URL \(cms.controlURL); paths \(options.paths)")
    print("client: UPnPControlClient, keep-alive connection per device; event loops: "
        + (options.eventLoops > 0 ? "own group of \(options.eventLoops)" : "NIO singleton")
        + (options.nioGlobalExecutor ? ", NIO as global executor: \(installedNIOExecutor)" : "")
        + (options.callerOnPool ? "; caller on the cooperative pool" : "; caller on the device's event loop"))
    print("\(options.rounds) rounds × (\(options.swiftOnly ? "Swift only" : "Swift, Python")), "
        + "\(options.calls) sequential GetValues each, \(options.warmup) warm-up")

    _ = try await swiftRound(client, paths: options.paths, calls: options.warmup, callerOnPool: options.callerOnPool)
    var swiftRounds: [SwiftRound] = []
    var pythonRounds: [PythonRound] = []
    for round in 1...options.rounds {
        let swift = try await swiftRound(client, paths: options.paths, calls: options.calls,
                                         callerOnPool: options.callerOnPool)
        swiftRounds.append(swift)
        if options.swiftOnly {
            print("round \(round): Swift \(format(swift.cpuPerCall)) µs CPU/call (user \(format(swift.userPerCall)), "
                + "sys \(format(swift.systemPerCall)); wall \(format(swift.wallPerCall)) µs), \(swift.parameters) parameters/call")
            continue
        }
        let py = try pythonRound(python: python, location: location, paths: options.paths, calls: options.calls,
                                 warmup: options.warmup)
        pythonRounds.append(py)
        guard swift.parameters == py.parameters, swift.parameters > 0 else {
            print("UPnPControlBenchmark: parameter counts differ (Swift \(swift.parameters), Python \(py.parameters))")
            return false
        }
        print("round \(round): Swift \(format(swift.cpuPerCall)) µs CPU/call (user \(format(swift.userPerCall)), "
            + "sys \(format(swift.systemPerCall)); wall \(format(swift.wallPerCall)) µs), "
            + "Python \(format(py.cpuPerCall)) µs CPU/call (wall \(format(py.wallPerCall)) µs), "
            + "ratio \(format(swift.cpuPerCall / py.cpuPerCall, 3)), \(swift.parameters) parameters/call")
    }
    if options.swiftOnly { return true }
    let ratios = zip(swiftRounds, pythonRounds).map { $0.cpuPerCall / $1.cpuPerCall }
    let swiftCPU = median(swiftRounds.map(\.cpuPerCall))
    let pythonCPU = median(pythonRounds.map(\.cpuPerCall))
    print("RESULT calls=\(options.calls) rounds=\(options.rounds) parameters=\(swiftRounds[0].parameters) "
        + "swift_cpu_us=\(format(swiftCPU)) swift_user_us=\(format(median(swiftRounds.map(\.userPerCall)))) "
        + "swift_sys_us=\(format(median(swiftRounds.map(\.systemPerCall)))) python_cpu_us=\(format(pythonCPU)) "
        + "ratio_median=\(format(median(ratios), 3)) ratio_min=\(format(ratios.min() ?? 0, 3)) "
        + "ratio_max=\(format(ratios.max() ?? 0, 3)) "
        + "swift_wall_us=\(format(median(swiftRounds.map(\.wallPerCall)))) "
        + "python_wall_us=\(format(median(pythonRounds.map(\.wallPerCall)))) goal=0.25")
    return true
}

do {
    let completed = try await run()
    exit(completed ? 0 : 1)
} catch {
    print("UPnPControlBenchmark: \(error)")
    exit(1)
}
