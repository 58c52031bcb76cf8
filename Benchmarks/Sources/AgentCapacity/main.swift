// Agent capacity: N virtual CWMP agents in this one process, on one AgentHost, doing Inform sessions against the
// Python ACS peer in --minimal mode on loopback. The baseline, measured in the same run against the same peer for
// the same duration, is loadgen.py: the peer's capacity with a trivial client. See Benchmarks/README.md.
//
//   swift run -c release AgentCapacity --agents 1000 --seconds 20
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import Logging
import Proxier

struct Options {
    var agents = 1000
    var seconds = 20.0
    /// Sessions at once across all agents (AgentHost's SessionGate).
    var gate = 64
    /// `cr`: every agent gets a Connection Request trigger every `tick` (coalesced while it waits or is in a
    /// session, so each agent informs back to back); `periodic`: PeriodicInformInterval = `interval` seconds.
    var trigger = "cr"
    var interval: UInt32 = 1
    var tick = 0.0
    var model = "minimal"
    var jitter = 2.0
    var loadgenWorkers = 4
    var skipBaseline = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = flag == "--skip-baseline" ? "" : (iterator.next() ?? "")
            switch flag {
            case "--agents": agents = max(1, Int(value) ?? agents)
            case "--seconds": seconds = min(max(1, Double(value) ?? seconds), 120)
            case "--gate": gate = max(1, Int(value) ?? gate)
            case "--trigger": trigger = value
            case "--interval": interval = max(1, UInt32(value) ?? interval)
            case "--tick": tick = Double(value) ?? tick
            case "--model": model = value
            case "--jitter": jitter = Double(value) ?? jitter
            case "--loadgen-workers": loadgenWorkers = max(1, Int(value) ?? loadgenWorkers)
            case "--skip-baseline": skipBaseline = true
            default:
                print("unknown flag \(flag)")
                exit(2)
            }
        }
        // Triggers at about twice the expected session rate over all agents: each agent is triggered at least
        // once while it waits for the gate or runs a session, so it never idles.
        if tick <= 0 { tick = max(0.05, Double(agents) / 4000) }
    }
}

let options = Options(CommandLine.arguments)
let peerDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4) // Benchmarks/Sources/AgentCapacity/main.swift
    return parts.joined(separator: "/") + "/Tests/Peers/acs"
}()
let python3 = ["/usr/bin/python3", "/usr/local/bin/python3"].first { (path: String) in access(path, X_OK) == 0 } ?? "/usr/bin/python3"

// MARK: - The peer

let peer = try Child([python3, peerDirectory + "/acs_peer.py", "--minimal", "--port", "0", "--control-port", "0",
                      "--exit-with-parent"])
let banner = peer.read(until: { $0.contains("CONTROL") && $0.hasSuffix("\n") })
var acsPort = 0
var controlPort = 0
for line in banner.split(separator: "\n") {
    let parts = line.split(separator: " ")
    guard parts.count == 3 else { continue }
    if parts[0] == "LISTENING" { acsPort = Int(parts[2]) ?? 0 }
    if parts[0] == "CONTROL" { controlPort = Int(parts[2]) ?? 0 }
}
guard acsPort > 0, controlPort > 0 else {
    print("the ACS peer did not start: \(banner)")
    peer.terminate()
    exit(1)
}
let acsURL = "http://127.0.0.1:\(acsPort)/acs"
func peerSessions(_ controlPort: Int) -> Double {
    (try? controlRequest(port: controlPort, method: "GET", path: "/stats")).flatMap { jsonNumber("sessions_completed", in: $0) } ?? 0
}
print("peer: \(acsURL) (--minimal), control port \(controlPort)")
print("options: agents \(options.agents), seconds \(options.seconds), trigger \(options.trigger)"
      + (options.trigger == "cr" ? " every \(options.tick) s" : " interval \(options.interval) s")
      + ", gate \(options.gate), model \(options.model), jitter \(options.jitter) s")

// MARK: - Baseline: loadgen.py against the same peer for the same duration

var baseline = 0.0
var baselinePeerCPU = 0.0
/// CPU (µs) of client + peer per session in the baseline: what a session costs the machine with a trivial client.
var baselineGroupCPUPerSession = 0.0
if !options.skipBaseline {
    let peerCPU0 = peer.cpuSeconds
    let childrenCPU0 = childrenCPUSeconds()
    let baselineBegan = monotonicSeconds()
    let loadgen = try Child([python3, peerDirectory + "/loadgen.py", "--port", "\(acsPort)", "--control-port",
                             "\(controlPort)", "--seconds", "\(options.seconds)", "--workers", "\(options.loadgenWorkers)"])
    let report = loadgen.read()
    loadgen.wait()
    baselinePeerCPU = peer.cpuSeconds - peerCPU0
    // loadgen.py and its worker processes, all waited for by now (start-up included: a slight overestimate).
    let loadgenCPU = childrenCPUSeconds() - childrenCPU0
    let baselineWall = monotonicSeconds() - baselineBegan
    baseline = jsonNumber("sessions_per_s", in: report) ?? 0
    let sessions = jsonNumber("sessions", in: report) ?? 0
    baselineGroupCPUPerSession = 1e6 * (loadgenCPU + baselinePeerCPU) / max(sessions, 1)
    print("baseline CPU: loadgen \(fmt(1e6 * loadgenCPU / max(sessions, 1))) µs/session, client + peer "
          + "\(fmt(baselineGroupCPUPerSession)) µs/session, \(fmt(100 * (loadgenCPU + baselinePeerCPU) / baselineWall)) % of one core")
    print("baseline loadgen.py (\(options.loadgenWorkers) workers): \(report.split(separator: "\n").joined(separator: " "))")
    print("baseline: \(fmt(baseline)) sessions/s; peer CPU \(fmt(1e6 * baselinePeerCPU / max(sessions, 1))) µs/session")
}

// MARK: - The agents

let logger = Logger(label: "agent-capacity") { _ in SwiftLogNoOpLogHandler() }
let stateDirectory: String = {
    var template = Array("/tmp/agent-capacity-XXXXXX".utf8CString)
    guard let pointer = mkdtemp(&template) else { return "/tmp/agent-capacity" }
    return String(cString: pointer)
}()
let store = try await AgentStore.open(directory: stateDirectory, logger: logger)
let host = AgentHost(configuration: .init(maximumConcurrentSessions: options.gate), store: store,
                     transport: NIOACSTransport(), logger: logger)
let settings = ManagementServerSettings(url: acsURL, periodicInformEnable: options.trigger == "periodic",
                                        periodicInformInterval: options.interval)
let jitter = Duration.milliseconds(Int64(options.jitter * 1000))

let rssBefore = residentBytes()
let setups = (0..<options.agents).map { index in
    let serial = "CAP\(index)"
    let agentID = "00D09E-cap-\(serial)"
    return AgentHost.AgentSetup(agentID: agentID) { environment in
        let deviceId = DeviceId(manufacturer: "Example Networks", oui: "00D09E", productClass: "cap", serialNumber: serial)
        let configuration = CWMPAgent.Configuration(agentID: agentID, deviceId: deviceId, startupJitterWindow: jitter)
        if options.model == "gateway" {
            let identity = GatewayIdentity(manufacturer: "Example Networks", manufacturerOUI: "00D09E", productClass: "cap",
                                           serialNumber: serial, hardwareVersion: "x86_64", softwareVersion: "0.1.0",
                                           provisioningCode: "")
            let gateway = try await makeGatewayDataModel(identity: identity, settings: settings)
            return CWMPAgent(configuration: configuration, gateway: gateway, environment: environment)
        }
        let model = try await MinimalDevice.make(serial: serial, settings: settings)
        return CWMPAgent(configuration: configuration, dataModel: model.dataModel, managementServer: model.managementServer,
                         environment: environment)
    }
}
let startBegan = monotonicSeconds()
let agents = try await host.start(setups)
let started = monotonicSeconds()
print("started \(agents.count) agents in \(fmt(started - startBegan)) s")

// First sessions (BOOTSTRAP + BOOT), spread over the jitter window; then idle.
var firstDone = 0
for _ in 0..<Int(max(60, options.jitter * 4 + Double(options.agents) / 200)) * 10 {
    firstDone = 0
    for agent in agents where await agent.sessionsEnded >= 1 { firstDone += 1 }
    if firstDone == agents.count { break }
    try await Task.sleep(for: .milliseconds(100))
}
let firstSessions = monotonicSeconds() - started
var failedFirst = 0
for agent in agents where await agent.lastOutcome?.succeeded != true { failedFirst += 1 }
try await Task.sleep(for: .seconds(1))
let rssIdle = residentBytes()
let perAgent = Double(rssIdle - rssBefore) / Double(options.agents)
print("first sessions: \(firstDone)/\(agents.count) ended (\(failedFirst) failed) \(fmt(firstSessions)) s after start")
print("RSS: \(fmt(Double(rssBefore) / 1_048_576)) MiB before the agents, \(fmt(Double(rssIdle) / 1_048_576)) MiB with \(agents.count) idle agents"
      + " → \(fmt(perAgent / 1024)) KiB per idle agent")

// MARK: - The measured window

let driver = Task {
    guard options.trigger == "cr" else { return }
    while !Task.isCancelled {
        for agent in agents { _ = agent.connectionRequestReceived() }
        try? await Task.sleep(for: .milliseconds(Int64(options.tick * 1000)))
    }
}
// One second of warm-up: the window starts with every agent busy.
try await Task.sleep(for: .seconds(1))
var endedBefore = 0
for agent in agents { endedBefore += await agent.sessionsEnded }
let peerBefore = peerSessions(controlPort)
let peerCPUBefore = peer.cpuSeconds
let cpuBefore = processCPUSeconds()
let schedBefore = threadSchedStats()
let peerSchedBefore = threadSchedStats(pid: "\(peer.pid)")
let windowBegan = monotonicSeconds()
try await Task.sleep(for: .milliseconds(Int64(options.seconds * 1000)))
let peerAfter = peerSessions(controlPort)
let windowEnded = monotonicSeconds()
let cpuAfter = processCPUSeconds()
let schedAfter = threadSchedStats()
let peerSchedAfter = threadSchedStats(pid: "\(peer.pid)")
let peerCPUAfter = peer.cpuSeconds
var endedAfter = 0
var failedAfter = 0
for agent in agents {
    endedAfter += await agent.sessionsEnded
    if await agent.lastOutcome?.succeeded != true { failedAfter += 1 }
}
driver.cancel()
let rssBusy = residentBytes()

let sessions = peerAfter - peerBefore
let rate = sessions / (windowEnded - windowBegan)
print("window: \(Int(sessions)) sessions completed at the peer (\(endedAfter - endedBefore) ended at the agents, "
      + "\(failedAfter) agents' last session failed) in \(fmt(windowEnded - windowBegan)) s")
print("proxier: \(fmt(rate)) sessions/s"
      + (baseline > 0 ? "; ratio to the loadgen baseline \(fmt(rate / baseline))" : ""))
print("CPU: agent process \(fmt(1e6 * (cpuAfter - cpuBefore) / max(sessions, 1))) µs/session "
      + "(\(fmt(100 * (cpuAfter - cpuBefore) / (windowEnded - windowBegan))) % of one core); peer "
      + "\(fmt(1e6 * (peerCPUAfter - peerCPUBefore) / max(sessions, 1))) µs/session")
// Where the threads' time went over the window: on a CPU, runnable but waiting for one (other processes on the
// shared machine, or our own threads), and how often they were scheduled in, per session.
func printSched(_ label: String, after: [String: SchedStats], before: [String: SchedStats]) {
    for name in after.keys.sorted() {
        let delta = after[name]! - (before[name] ?? SchedStats())
        guard delta.slices > 0 else { continue }
        print("sched \(label) \(name): on CPU \(fmt(1e6 * delta.running / max(sessions, 1))) µs/session, "
              + "run-queue wait \(fmt(1e6 * delta.waiting / max(sessions, 1))) µs/session "
              + "(\(fmt(1e6 * delta.waiting / max(delta.slices, 1))) µs per wake-up), "
              + "\(fmt(delta.slices / max(sessions, 1))) wake-ups/session")
    }
}
printSched("agent", after: schedAfter, before: schedBefore)
let agentGroupCPUPerSession = 1e6 * (cpuAfter - cpuBefore + peerCPUAfter - peerCPUBefore) / max(sessions, 1)
print("CPU agents + peer: \(fmt(agentGroupCPUPerSession)) µs/session, "
      + "\(fmt(100 * (cpuAfter - cpuBefore + peerCPUAfter - peerCPUBefore) / (windowEnded - windowBegan))) % of one core"
      + (baselineGroupCPUPerSession > 0
         ? "; CPU-normalised ratio (baseline client + peer µs ÷ agents + peer µs per session) "
           + fmt(baselineGroupCPUPerSession / agentGroupCPUPerSession) : ""))
printSched("peer", after: peerSchedAfter, before: peerSchedBefore)
print("RSS under load: \(fmt(Double(rssBusy) / 1_048_576)) MiB")
print("RESULT agents=\(options.agents) model=\(options.model) trigger=\(options.trigger) sessions_per_s=\(fmt(rate)) "
      + "baseline_per_s=\(fmt(baseline)) ratio=\(baseline > 0 ? fmt(rate / baseline) : "-") "
      + "rss_kib_per_idle_agent=\(fmt(perAgent / 1024)) cpu_us_per_session=\(fmt(1e6 * (cpuAfter - cpuBefore) / max(sessions, 1)))")

await host.stop()
try await store.close()
_ = try? controlRequest(port: controlPort, method: "POST", path: "/shutdown")
peer.terminate()
_ = stateDirectory.withCString { path in
    // The store's files, then the directory (nothing else is in it).
    for name in ["agents.sqlite", "agents.sqlite-wal", "agents.sqlite-shm"] { unlink(String(cString: path) + "/" + name) }
    return rmdir(path)
}

func fmt(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return "\(scaled)"
}
