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
    /// `cr`: a real HTTP Connection Request (Digest) through the ConnectionRequestServer each time an agent's
    /// session closes; `direct`: `connectionRequestReceived()` called at that moment instead (what the listener
    /// calls once a request is authenticated); `periodic`: PeriodicInformInterval = `interval` seconds.
    var trigger = "cr"
    var interval: UInt32 = 1
    /// `ahc`: ACSHTTPTransport, what `cwmp-proxy run` uses (AsyncHTTPClient for http ACS URLs, one HTTPClient per
    /// session); `nio`: NIOACSTransport (the reference transport on SwiftNIO).
    var transport = "ahc"
    /// Connection Requests in flight at once from the benchmark's ACS side (`--trigger cr`).
    var crInFlight = 64
    /// ACSHTTPTransport's `sessionIdleTimeout` (nil: its default).
    var ahcIdleTimeout: Double? = nil
    /// Seconds to wait after the first sessions before the idle RSS is read.
    var idleWait = 1.0
    /// Prints glibc's malloc_stats() (stderr) with the idle and the loaded RSS.
    var mallocStats = false
    var model = "minimal"
    var jitter = 2.0
    var loadgenWorkers = 4
    var skipBaseline = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = ["--skip-baseline", "--malloc-stats"].contains(flag) ? "" : (iterator.next() ?? "")
            switch flag {
            case "--agents": agents = max(1, Int(value) ?? agents)
            case "--seconds": seconds = min(max(1, Double(value) ?? seconds), 120)
            case "--gate": gate = max(1, Int(value) ?? gate)
            case "--trigger": trigger = value
            case "--interval": interval = max(1, UInt32(value) ?? interval)
            case "--transport": transport = value
            case "--cr-in-flight": crInFlight = max(1, Int(value) ?? crInFlight)
            case "--ahc-idle-timeout": ahcIdleTimeout = Double(value)
            case "--idle-wait": idleWait = max(0, Double(value) ?? idleWait)
            case "--model": model = value
            case "--jitter": jitter = Double(value) ?? jitter
            case "--loadgen-workers": loadgenWorkers = max(1, Int(value) ?? loadgenWorkers)
            case "--skip-baseline": skipBaseline = true
            case "--malloc-stats": mallocStats = true
            default:
                print("unknown flag \(flag)")
                exit(2)
            }
        }
        guard ["cr", "direct", "periodic"].contains(trigger), ["ahc", "nio"].contains(transport) else {
            print("--trigger cr|direct|periodic, --transport ahc|nio")
            exit(2)
        }
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
print("options: agents \(options.agents), seconds \(options.seconds), transport \(options.transport), trigger \(options.trigger)"
      + (options.trigger == "periodic" ? " interval \(options.interval) s" : "")
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
var ahcConfiguration = ACSHTTPTransport.Configuration()
if let idle = options.ahcIdleTimeout { ahcConfiguration.sessionIdleTimeout = .milliseconds(Int64(idle * 1000)) }
let transport = ClosingObserver(options.transport == "ahc"
                                ? try ACSHTTPTransport(configuration: ahcConfiguration, logger: logger)
                                : NIOACSTransport(logger: logger))
// `--trigger cr`: the daemon's listener on loopback. Its rate limits are lifted here (the daemon's configuration
// allows at most one request per millisecond in total and one Connection Request per second per device; see the
// README), so that what is measured is the cost of the path, not the limiter.
let listener: ConnectionRequestServer? = options.trigger == "cr"
    ? ConnectionRequestServer(configuration: .init(host: "127.0.0.1", port: 0, agentBurst: 1000,
                                                   agentRefillInterval: .milliseconds(1), globalBurst: 1_000_000,
                                                   globalRefillInterval: .nanoseconds(1000), maxConnections: 1024),
                              logger: logger)
    : nil
let listenerPort = try await listener?.start().port ?? 0
let host = AgentHost(configuration: .init(maximumConcurrentSessions: options.gate), store: store,
                     transport: transport, connectionRequestServer: listener, connectionRequestHost: "127.0.0.1",
                     connectionRequestPort: listenerPort, logger: logger)
/// Each agent's own ACS username ("cap<index>", how `ClosingObserver` knows whose session closed) and
/// Connection Request credentials.
func settings(_ index: Int) -> ManagementServerSettings {
    ManagementServerSettings(url: acsURL, username: "cap\(index)", password: "unused",
                             periodicInformEnable: options.trigger == "periodic",
                             periodicInformInterval: options.interval,
                             connectionRequestUsername: "cr\(index)", connectionRequestPassword: "secret-\(index)")
}
let jitter = Duration.milliseconds(Int64(options.jitter * 1000))

let rssBefore = residentBytes()
let setups = (0..<options.agents).map { index in
    let serial = "CAP\(index)"
    let agentID = "00D09E-cap-\(serial)"
    let agentSettings = settings(index)
    return AgentHost.AgentSetup(agentID: agentID) { environment in
        let deviceId = DeviceId(manufacturer: "Example Networks", oui: "00D09E", productClass: "cap", serialNumber: serial)
        let configuration = CWMPAgent.Configuration(agentID: agentID, deviceId: deviceId, startupJitterWindow: jitter)
        if options.model == "gateway" {
            let identity = GatewayIdentity(manufacturer: "Example Networks", manufacturerOUI: "00D09E", productClass: "cap",
                                           serialNumber: serial, hardwareVersion: "x86_64", softwareVersion: "0.1.0",
                                           provisioningCode: "")
            let gateway = try await makeGatewayDataModel(identity: identity, settings: agentSettings)
            return CWMPAgent(configuration: configuration, gateway: gateway, environment: environment)
        }
        let model = try await MinimalDevice.make(serial: serial, settings: agentSettings)
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
try await Task.sleep(for: .milliseconds(Int64(options.idleWait * 1000)))
let rssIdle = residentBytes()
let perAgent = Double(rssIdle - rssBefore) / Double(options.agents)
print("first sessions: \(firstDone)/\(agents.count) ended (\(failedFirst) failed) \(fmt(firstSessions)) s after start")
print("RSS: \(fmt(Double(rssBefore) / 1_048_576)) MiB before the agents, \(fmt(Double(rssIdle) / 1_048_576)) MiB with \(agents.count) idle agents"
      + " → \(fmt(perAgent / 1024)) KiB per idle agent")
print("memory with the agents idle: \(memoryBreakdown(mallocStats: options.mallocStats))")

// MARK: - The measured window

var sender: ConnectionRequestSender? = nil
switch options.trigger {
case "cr":
    var targets: [ConnectionRequestSender.Target] = []
    for (index, agent) in agents.enumerated() {
        guard let url = await agent.connectionRequestURL, let path = ACSURL(url)?.target else {
            print("agent \(index) has no Connection Request URL")
            exit(1)
        }
        targets.append(.init(url: url, path: path,
                             credentials: HTTPCredentials(username: "cr\(index)", password: "secret-\(index)")))
    }
    let crSender = ConnectionRequestSender(targets: targets, maximumInFlight: options.crInFlight)
    sender = crSender
    transport.arm(crSender)
    for index in agents.indices { crSender.send(index) }
case "direct":
    transport.arm(DirectTrigger(agents: agents))
    for agent in agents { _ = agent.connectionRequestReceived() }
default:
    break
}
// One second of warm-up: the window starts with every agent busy.
try await Task.sleep(for: .seconds(1))
var endedBefore = 0
for agent in agents { endedBefore += await agent.sessionsEnded }
let peerBefore = peerSessions(controlPort)
let crBefore = await sender?.counts()
let peerCPUBefore = peer.cpuSeconds
let cpuBefore = processCPUSeconds()
let schedBefore = threadSchedStats()
let peerSchedBefore = threadSchedStats(pid: "\(peer.pid)")
let windowBegan = monotonicSeconds()
try await Task.sleep(for: .milliseconds(Int64(options.seconds * 1000)))
let peerAfter = peerSessions(controlPort)
let crAfter = await sender?.counts()
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
transport.disarm()
let rssBusy = residentBytes()

let sessions = peerAfter - peerBefore
let rate = sessions / (windowEnded - windowBegan)
let wall = windowEnded - windowBegan
/// The benchmark's own Connection Request sender (the ACS side, `--trigger cr`) runs in this process on its own
/// event loop thread ("NIO-ELT-…"): its on-CPU time is taken out of the proxier's figures.
func senderSeconds(_ stats: [String: SchedStats]) -> Double {
    stats.filter { $0.key.hasPrefix("NIO-ELT") }.values.reduce(0) { $0 + $1.running }
}
let senderCPU = sender == nil ? 0 : senderSeconds(schedAfter) - senderSeconds(schedBefore)
let proxierCPU = cpuAfter - cpuBefore - senderCPU
print("window: \(Int(sessions)) sessions completed at the peer (\(endedAfter - endedBefore) ended at the agents, "
      + "\(failedAfter) agents' last session failed) in \(fmt(wall)) s")
print("proxier: \(fmt(rate)) sessions/s"
      + (baseline > 0 ? "; ratio to the loadgen baseline \(fmt(rate / baseline))" : ""))
if let crBefore, let crAfter {
    let refused = crAfter.refused.values.reduce(0, +) - crBefore.refused.values.reduce(0, +)
    print("connection requests in the window: \(crAfter.sent - crBefore.sent) sent, "
          + "\(crAfter.accepted - crBefore.accepted) accepted (200/204), \(refused) refused (statuses so far: "
          + "\(crAfter.refused)), \(crAfter.failed - crBefore.failed) failed; sender (ACS side) CPU "
          + "\(fmt(1e6 * senderCPU / max(sessions, 1))) µs/session")
}
print("CPU: agent process \(fmt(1e6 * (cpuAfter - cpuBefore) / max(sessions, 1))) µs/session"
      + (sender == nil ? "" : ", without the sender \(fmt(1e6 * proxierCPU / max(sessions, 1))) µs/session")
      + " (\(fmt(100 * proxierCPU / wall)) % of one core); peer "
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
let agentGroupCPUPerSession = 1e6 * (proxierCPU + peerCPUAfter - peerCPUBefore) / max(sessions, 1)
print("CPU agents + peer: \(fmt(agentGroupCPUPerSession)) µs/session, "
      + "\(fmt(100 * (proxierCPU + peerCPUAfter - peerCPUBefore) / wall)) % of one core"
      + (baselineGroupCPUPerSession > 0
         ? "; CPU-normalised ratio (baseline client + peer µs ÷ agents + peer µs per session) "
           + fmt(baselineGroupCPUPerSession / agentGroupCPUPerSession) : ""))
printSched("peer", after: peerSchedAfter, before: peerSchedBefore)
print("RSS under load: \(fmt(Double(rssBusy) / 1_048_576)) MiB; \(memoryBreakdown(mallocStats: options.mallocStats))")
print("RESULT agents=\(options.agents) model=\(options.model) transport=\(options.transport) trigger=\(options.trigger) "
      + "sessions_per_s=\(fmt(rate)) baseline_per_s=\(fmt(baseline)) ratio=\(baseline > 0 ? fmt(rate / baseline) : "-") "
      + "rss_kib_per_idle_agent=\(fmt(perAgent / 1024)) cpu_us_per_session=\(fmt(1e6 * proxierCPU / max(sessions, 1))) "
      + "failed_agents=\(failedAfter)")

await sender?.shutdown()
await host.stop()
try? await listener?.stop()
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
