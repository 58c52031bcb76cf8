// The shared machinery every agent of the process uses instead of owning any: the clock, one timer for all agents
// (a min-heap of deadlines and one sleeping task), and the limit on simultaneous sessions. An idle agent is then
// just its state: no task, no timer object, no channel.
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import Synchronization

/// Time for the agents: wall-clock `now` (TR-069 schedules are calendar times) and a way to sleep until an instant.
/// Tests use a clock they advance by hand, so retry waits and periodic informs need no real waiting.
public protocol AgentClock: Sendable {
    func now() -> CWMPInstant
    /// Returns at or after `deadline` (in this clock's time), or throws when the task is cancelled.
    func sleep(until deadline: CWMPInstant) async throws
}

/// The system's real-time clock. A sleep re-reads the wall time when it wakes, so a clock step only delays or
/// advances a deadline, it never loses one.
public struct SystemAgentClock: AgentClock {
    public init() {}

    public func now() -> CWMPInstant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return CWMPInstant(sinceUnixEpoch: .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec)))
    }

    public func sleep(until deadline: CWMPInstant) async throws {
        while true {
            let remaining = now().duration(to: deadline)
            if remaining <= .zero { return }
            // Slices of at most a minute: a wall-clock jump is noticed within that.
            try await Task.sleep(for: min(remaining, .seconds(60)))
        }
    }
}

/// One timer for all agents: each agent has at most one deadline (re-arming replaces it). A single task sleeps
/// until the earliest; an earlier deadline replaces that task. Entries are discarded lazily by generation.
public final class AgentTimer: Sendable {
    private struct Entry: Sendable {
        var deadline: CWMPInstant
        var agent: ObjectIdentifier
        var generation: UInt64
    }

    private struct State: Sendable {
        var heap: [Entry] = []
        var generations: [ObjectIdentifier: UInt64] = [:]
        var targets: [ObjectIdentifier: @Sendable () async -> Void] = [:]
        var sleeper: Task<Void, Never>?
        var sleeperDeadline: CWMPInstant?
        var stopped = false
    }

    private let clock: any AgentClock
    private let state = Mutex(State())

    public init(clock: any AgentClock) { self.clock = clock }

    /// Calls `fire` at `deadline`, replacing any deadline armed for `owner`.
    public func arm(owner: ObjectIdentifier, deadline: CWMPInstant, fire: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard !state.stopped else { return }
            let generation = (state.generations[owner] ?? 0) &+ 1
            state.generations[owner] = generation
            state.targets[owner] = fire
            Self.push(Entry(deadline: deadline, agent: owner, generation: generation), into: &state.heap)
            if state.sleeperDeadline.map({ deadline < $0 }) ?? true { restartSleeper(&state) }
        }
    }

    /// Forgets the owner's deadline.
    public func disarm(owner: ObjectIdentifier) {
        state.withLock { state in
            state.generations[owner] = (state.generations[owner] ?? 0) &+ 1
            state.targets[owner] = nil
        }
    }

    public func stop() {
        state.withLock { state in
            state.stopped = true
            state.sleeper?.cancel()
            state.sleeper = nil
            state.heap = []
            state.targets = [:]
        }
    }

    /// Deadlines armed and not yet fired or replaced (diagnostics and tests).
    public func deadline(of owner: ObjectIdentifier) -> CWMPInstant? {
        state.withLock { state in
            state.heap.first { $0.agent == owner && $0.generation == state.generations[owner] }?.deadline
        }
    }

    private func restartSleeper(_ state: inout State) {
        state.sleeper?.cancel()
        while let top = state.heap.first, state.generations[top.agent] != top.generation { _ = Self.pop(from: &state.heap) }
        guard let next = state.heap.first else {
            state.sleeper = nil
            state.sleeperDeadline = nil
            return
        }
        state.sleeperDeadline = next.deadline
        let clock = self.clock
        state.sleeper = Task { [weak self] in
            do { try await clock.sleep(until: next.deadline) } catch { return }
            self?.fireDue()
        }
    }

    private func fireDue() {
        let now = clock.now()
        let due = state.withLock { state -> [@Sendable () async -> Void] in
            var due: [@Sendable () async -> Void] = []
            while let top = state.heap.first, top.deadline <= now {
                let entry = Self.pop(from: &state.heap)
                guard state.generations[entry.agent] == entry.generation, let fire = state.targets[entry.agent] else {
                    continue
                }
                state.targets[entry.agent] = nil
                due.append(fire)
            }
            state.sleeper = nil
            state.sleeperDeadline = nil
            if !state.stopped { restartSleeper(&state) }
            return due
        }
        // One short task per due agent: they run concurrently, and none holds up the timer.
        for fire in due { Task { await fire() } }
    }

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func pop(from heap: inout [Entry]) -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// At most `limit` sessions at once across all agents (FIFO): thousands of virtual devices must not open
/// thousands of connections to the ACS in the same instant.
public final class SessionGate: Sendable {
    private struct State: Sendable {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>
    public let limit: Int

    public init(limit: Int) {
        self.limit = max(limit, 1)
        self.state = Mutex(State(available: max(limit, 1)))
    }

    public func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Sessions waiting for a slot: for tests and diagnostics.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
