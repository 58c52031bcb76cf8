// Fixtures of the RPC layer tests: a gateway-like data model cut from the generated TR-181 schema, an agent that
// records its hooks, a clock the test moves by hand, and a provider that never answers.
import CWMPClient
import Proxier
import Synchronization

// MARK: - A gateway's data model

enum GatewayFixture {
    /// What a small gateway supports: whole objects (trailing dot) and single parameters.
    static let supported: Set<String> = [
        "Device.RootDataModelVersion",
        "Device.DeviceInfo.",
        "Device.ManagementServer.",
        "Device.Time.",
        "Device.Ethernet.InterfaceNumberOfEntries",
        "Device.Ethernet.Interface.{i}.",
        "Device.Ethernet.Interface.{i}.Stats.",
        "Device.IP.InterfaceNumberOfEntries",
        "Device.IP.Interface.{i}.",
        "Device.IP.Interface.{i}.Stats.",
        "Device.IP.Interface.{i}.IPv4Address.{i}.",
        "Device.Hosts.HostNumberOfEntries",
        "Device.Hosts.Host.{i}.",
    ]

    static let tree = SchemaTree(DataModelSchema.tr181.restricted(to: supported))

    /// Instances per table (under every instance of the enclosing table).
    static let instanceCounts: [String: Int] = [
        "Device.Ethernet.Interface.{i}.": 2,
        "Device.IP.Interface.{i}.": 2,
        "Device.IP.Interface.{i}.IPv4Address.{i}.": 1,
        "Device.Hosts.Host.{i}.": 3,
    ]

    /// Values that differ from the schema's defaults, as a gateway would report them.
    static let realValues: [String: String] = [
        "Device.RootDataModelVersion": "2.19",
        "Device.DeviceInfo.Manufacturer": "Example Networks",
        "Device.DeviceInfo.ManufacturerOUI": "00D09E",
        "Device.DeviceInfo.ModelName": "Proxier Gateway",
        "Device.DeviceInfo.ProductClass": "PG-1",
        "Device.DeviceInfo.SerialNumber": "PG1-000042",
        "Device.DeviceInfo.SoftwareVersion": "1.2.3",
        "Device.DeviceInfo.HardwareVersion": "rev B",
        "Device.DeviceInfo.UpTime": "86400",
        "Device.ManagementServer.URL": "https://acs.example.net/cwmp",
        "Device.ManagementServer.Password": "acs-secret",
        "Device.ManagementServer.PeriodicInformEnable": "true",
        "Device.ManagementServer.PeriodicInformInterval": "3600",
        "Device.ManagementServer.ConnectionRequestURL": "http://192.0.2.1:7547/cr/pg1",
        "Device.IP.Interface.1.Name": "wan0",
        "Device.IP.Interface.1.Enable": "true",
        "Device.IP.Interface.1.IPv4Address.1.IPAddress": "192.0.2.1",
        "Device.IP.Interface.2.Name": "br-lan",
        "Device.Hosts.Host.1.HostName": "laptop",
        "Device.Hosts.Host.2.HostName": "phone",
        "Device.Hosts.Host.3.HostName": "tv",
    ]

    /// Every parameter of every instance, at its default unless `realValues` says otherwise.
    static var values: [String: String] {
        var values: [String: String] = [:]
        for (template, object) in tree.schema.objects {
            for name in concreteNames(of: template) {
                for parameter in object.parameters { values[name + parameter.name] = parameter.initialValue }
            }
        }
        values.merge(realValues) { _, real in real }
        return values
    }

    /// `Device.IP.Interface.{i}.IPv4Address.{i}.` → `Device.IP.Interface.1.IPv4Address.1.`, `…2.IPv4Address.1.`.
    static func concreteNames(of template: String) -> [String] {
        var names = [""]
        var prefix = ""
        for part in template.split(separator: ".") {
            if part == "{i}" {
                let count = instanceCounts[prefix + "{i}."] ?? 0
                names = names.flatMap { name in (0..<count).map { name + "\($0 + 1)." } }
            } else {
                names = names.map { $0 + part + "." }
            }
            prefix += part + "."
        }
        return names
    }

    /// A data model over the gateway subset with one InMemoryProvider at `Device.`.
    static func makeDataModel() async throws -> (DataModel, InMemoryProvider) {
        let provider = try InMemoryProvider(schema: tree, values: values)
        let model = DataModel(schema: tree)
        try await model.mount(provider, at: "Device.")
        return (model, provider)
    }
}

// MARK: - An agent that records its hooks

/// Supports every agent method (unless told otherwise), records each hook call, and answers as configured.
actor RecordingAgent: CWMPAgentActions {
    enum Call: Hashable {
        case download(Download)
        case upload(Upload)
        case scheduleDownload(ScheduleDownload)
        case cancelTransfer(String)
        case queuedTransfers
        case changeDUState(ChangeDUState)
    }

    nonisolated let supportedMethods: Set<CPEMethod>
    private(set) var calls: [Call] = []
    var transferResponse = TransferResponse(status: 1)
    var queue: [AllQueuedTransfer] = []
    var hookError: (any Error)?

    init(supporting methods: Set<CPEMethod> = Set(CPEMethod.allCases.filter(\.isAgentMethod))) {
        supportedMethods = methods
    }

    func answer(transfers response: TransferResponse) { transferResponse = response }
    func setQueue(_ queue: [AllQueuedTransfer]) { self.queue = queue }
    func fail(with error: (any Error)?) { hookError = error }

    private func record(_ call: Call) throws {
        calls.append(call)
        if let hookError { throw hookError }
    }

    func startDownload(_ request: Download) async throws -> TransferResponse {
        try record(.download(request))
        return transferResponse
    }

    func startUpload(_ request: Upload) async throws -> TransferResponse {
        try record(.upload(request))
        return transferResponse
    }

    func scheduleDownload(_ request: ScheduleDownload) async throws { try record(.scheduleDownload(request)) }
    func cancelTransfer(commandKey: String) async throws { try record(.cancelTransfer(commandKey)) }

    func queuedTransfers() async throws -> [AllQueuedTransfer] {
        try record(.queuedTransfers)
        return queue
    }

    func changeDUState(_ request: ChangeDUState) async throws { try record(.changeDUState(request)) }
}

/// An error whose description must never reach the ACS.
struct SecretError: Error, CustomStringConvertible {
    var description: String { "connect to 10.0.0.7:161 community=private failed" }
}

// MARK: - A clock the test moves

/// A clock that only moves when told to; sleepers wake when `advance(by:)` passes their deadline.
final class TestClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }

    /// The deadlines of the tasks sleeping now.
    var sleepingUntil: [Instant] { state.withLock { $0.sleepers.values.map(\.deadline).sorted() } }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                let sleeper = state.sleepers.removeValue(forKey: id)
                if sleeper == nil { state.cancelled.insert(id) }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on and wakes every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}

/// Yields until `condition` holds (no wall clock involved); false if it never does within many turns.
func eventually(_ condition: @Sendable () async -> Bool) async -> Bool {
    for _ in 0..<100_000 {
        if await condition() { return true }
        await Task.yield()
    }
    return false
}

// MARK: - A provider that never answers

/// Lists instances like the provider it wraps, but never answers `values(of:)`. One that honours cancellation
/// ends the call when its task is cancelled; one that ignores it stays stuck until `release()`.
actor UnansweringProvider: DataModelProvider {
    let inner: InMemoryProvider
    let honoursCancellation: Bool
    private(set) var valueCalls = 0
    private(set) var sawCancellation = false
    private var stuck: [CheckedContinuation<Void, Never>] = []

    init(_ inner: InMemoryProvider, honoursCancellation: Bool) {
        self.inner = inner
        self.honoursCancellation = honoursCancellation
    }

    func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        try await inner.instances(of: tables)
    }

    func values(of parameters: [ProviderPath]) async throws -> [String] {
        valueCalls += 1
        if honoursCancellation {
            await withTaskCancellationHandler {
                await withCheckedContinuation { stuck.append($0) }
            } onCancel: {
                Task { await self.cancelled() }
            }
            throw CancellationError()
        }
        await withCheckedContinuation { stuck.append($0) }
        return try await inner.values(of: parameters)
    }

    private func cancelled() {
        sawCancellation = true
        release()
    }

    /// Lets every stuck call go on.
    func release() {
        for continuation in stuck { continuation.resume() }
        stuck = []
    }

    func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus { try await inner.setValues(values) }

    func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        try await inner.addInstance(to: table, instanceNumber: instanceNumber)
    }

    func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus { try await inner.deleteInstance(instance) }
}
