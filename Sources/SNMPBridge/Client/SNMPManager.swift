// The SNMP manager: one reusable net-snmp session per agent, all driven by the process's SNMP I/O thread.
import Synchronization

/// Hands out one `SNMPAgentSession` per agent (equal `SNMPAgent` values share a net-snmp session) and closes
/// them all on `shutdown()`. Many managers may exist; they share the process's one SNMP I/O thread.
public final class SNMPManager: Sendable {
    private let sessions = Mutex<[SNMPAgent: UInt64]?>([:])
    private let thread = SNMPIOThread.shared

    public init() {}

    /// The SNMP I/O thread as a task executor. A task that runs its SNMP request/response code under
    /// `withTaskExecutorPreference(manager.ioExecutor) { ... }` executes that code on the I/O thread itself, so each
    /// request costs no thread wake-up on the way in or out (the per-request latency of net-snmp's own synchronous
    /// loop, measured in Benchmarks/README.md). Everything that runs there delays every agent's I/O while it runs:
    /// use it for short glue (issue requests, convert varbinds), never for blocking or long computations.
    public var ioExecutor: any TaskExecutor { thread }

    /// The session for `agent`, opened on first use (opening sends nothing; SNMPv3 discovery happens with the
    /// first request).
    public func session(for agent: SNMPAgent) -> SNMPAgentSession {
        let id = sessions.withLock { sessions -> UInt64 in
            // After shutdown: the closed-session ID, whose every request fails with `.sessionClosed`.
            guard sessions != nil else { return SNMPIOLoopState.closedSessionID }
            if let id = sessions?[agent] { return id }
            let id = thread.makeID()
            sessions?[agent] = id
            return id
        }
        return SNMPAgentSession(agent: agent, sessionID: id, thread: thread)
    }

    /// Closes the session of `agent` (its waiting callers get `.sessionClosed`); the next `session(for:)` opens a
    /// new one. Use it when an agent's credentials or address change for good.
    public func close(_ agent: SNMPAgent) {
        guard let id = sessions.withLock({ $0?.removeValue(forKey: agent) }) else { return }
        thread.execute { state in state.close(id) }
    }

    /// Closes every session; the manager hands out no more working sessions afterwards.
    public func shutdown() {
        let ids = sessions.withLock { sessions -> [UInt64] in
            defer { sessions = nil }
            return Array((sessions ?? [:]).values)
        }
        thread.execute { state in ids.forEach { state.close($0) } }
    }

    deinit { shutdown() }
}

/// One agent's client. Cheap to copy; all copies share the manager's net-snmp session.
public struct SNMPAgentSession: SNMPQuerying {
    public let agent: SNMPAgent
    let sessionID: UInt64
    let thread: SNMPIOThread

    /// The SNMP I/O thread: the provider, discovery and the trap reaction run their request sequences there.
    public var preferredExecutor: (any TaskExecutor)? { thread }

    public func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] {
        try Self.check(oids)
        return try await perform(.get(oids))
    }

    public func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] {
        try Self.check(oids)
        return try await perform(.getNext(oids))
    }

    public func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws
        -> [SNMPVarBind] {
        try Self.check(oids)
        if case .v1 = agent.credentials {
            throw SNMPBridgeError(.invalidArgument, "GETBULK does not exist in SNMPv1")
        }
        guard nonRepeaters >= 0, maxRepetitions >= 0 else {
            throw SNMPBridgeError(.invalidArgument, "GETBULK needs non-negative non-repeaters and max-repetitions")
        }
        return try await perform(.getBulk(oids, nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions))
    }

    public func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] {
        // The walk's glue (one state-machine step per response) runs on the SNMP I/O thread itself: each GETBULK
        // is then handed over and resumed without a thread wake-up, which made a walk's time per row 0.90× raw
        // net-snmp's instead of 1.61× (Benchmarks/README.md, SNMPBenchmark (b)). The glue is short, so other
        // agents' I/O is not held up by it.
        try await withTaskExecutorPreference(thread) { try await walkOnCurrentExecutor(root) }
    }

    private func walkOnCurrentExecutor(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] {
        var machine = SNMPWalkStateMachine(root: root)
        var action = machine.start
        // A bound on requests, so that even an agent that returns ever-larger OIDs under the root forever stops.
        var requests = 0
        while true {
            switch action {
            case .finished(let varBinds):
                return varBinds
            case .failed(let error):
                throw error
            case .requestNext(let after):
                requests += 1
                if requests > 1_000_000 {
                    throw SNMPBridgeError(.malformedResponse, "The walk of \(root) did not end after a million requests")
                }
                let response: [SNMPVarBind]
                do {
                    if case .v1 = agent.credentials {
                        response = try await getNext([after])
                    } else {
                        response = try await getBulk([after], nonRepeaters: 0, maxRepetitions: max(1, agent.maxRepetitions))
                    }
                } catch let error as SNMPBridgeError where error.code == .pduError && error.pduErrorStatus == 2 {
                    // SNMPv1: noSuchName past the last object of the agent's view ends the walk.
                    action = machine.receivedEndOfView()
                    continue
                }
                action = machine.received(response)
            }
        }
    }

    public func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind] {
        guard !varBinds.isEmpty else { throw SNMPBridgeError(.invalidArgument, "A SET needs at least one varbind") }
        for varBind in varBinds {
            switch varBind.value {
            case .noSuchObject, .noSuchInstance, .endOfMibView:
                throw SNMPBridgeError(.invalidArgument, "Cannot SET \(varBind.oid) to an exception value")
            case .ipAddress(let bytes) where bytes.count != 4:
                throw SNMPBridgeError(.invalidArgument, "An IpAddress has 4 octets (\(varBind.oid))")
            default: break
            }
        }
        return try await perform(.set(varBinds))
    }

    private static func check(_ oids: [SNMPObjectIdentifier]) throws {
        guard !oids.isEmpty else { throw SNMPBridgeError(.invalidArgument, "A request needs at least one OID") }
        // net-snmp's MAX_OID_LEN (128 sub-identifiers).
        if let long = oids.first(where: { $0.components.count > 128 || $0.components.count < 2 }) {
            throw SNMPBridgeError(.invalidArgument, "OID \(long) has \(long.components.count) sub-identifiers (2…128)")
        }
    }

    /// Hands the request to the I/O thread and waits. Cancelling the waiting task resumes it at once with
    /// `CancellationError`; net-snmp finishes (and frees) the request itself, within the agent's timeout bound.
    private func perform(_ kind: SNMPRequestKind) async throws -> [SNMPVarBind] {
        try Task.checkCancellation()
        let requestID = thread.makeID()
        let sessionID = self.sessionID
        let agent = self.agent
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[SNMPVarBind], any Error>) in
                let request = SNMPPendingRequest(id: requestID, kind: kind, continuation: continuation)
                thread.execute { state in state.submit(request, sessionID: sessionID, agent: agent) }
            }
        } onCancel: {
            // The inbox is FIFO, so this normally lands after the submit. In the narrow race where the task is
            // cancelled between the check above and the submit, it lands first and finds nothing: the request then
            // runs to its normal end, still within the agent's timeout bound.
            thread.execute { state in state.cancel(requestID, sessionID: sessionID) }
        }
    }
}
