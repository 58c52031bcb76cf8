// The one thread that touches net-snmp. Debian's libnetsnmp is built without NETSNMP_REENTRANT (its locks are
// no-ops; helgrind finds real races on request IDs and session lists with one session per thread) and its USM user
// list is process-wide, so every net-snmp call of the process runs here: session open/close, async send, read,
// retransmission timeouts. Callers hand work over through a locked inbox and a wakeup pipe and await a
// continuation; no NIO event loop ever blocks on SNMP.
import CNetSNMP
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

final class SNMPIOThread: Sendable {
    /// The process's only SNMP I/O thread, started on first use and never stopped (net-snmp's `init_snmp` runs
    /// once per process, on this thread).
    static let shared = SNMPIOThread()

    typealias Work = @Sendable (SNMPIOLoopState) -> Void

    let inbox: SNMPInbox

    private init() {
        inbox = SNMPInbox()
        let context = Unmanaged.passRetained(SNMPIOLoopState(inbox: inbox)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let state = Unmanaged<SNMPIOLoopState>.fromOpaque(argument!).takeRetainedValue()
            state.run()
            return nil
        }, context)
        precondition(created == 0, "The SNMP I/O thread cannot start")
        pthread_detach(thread)
    }

    /// A fresh, process-unique ID (requests, sessions).
    func makeID() -> UInt64 { inbox.makeID() }

    /// Runs `work` on the I/O thread, soon.
    func execute(_ work: @escaping Work) { inbox.append(work) }

    /// Runs `body` with the I/O thread's state, on that thread (tests look at sessions with it).
    func inspect<T: Sendable>(_ body: @escaping @Sendable (SNMPIOLoopState) -> T) async -> T {
        await withCheckedContinuation { continuation in
            execute { state in continuation.resume(returning: body(state)) }
        }
    }

    /// Runs `body` on the I/O thread and returns its result: the way for any other net-snmp call of this module
    /// (the MIB parser for profiles, say) to respect net-snmp's one-thread rule. `body` blocks every session while
    /// it runs, so keep it short.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            execute { _ in continuation.resume(with: Result { try body() }) }
        }
    }
}

/// The I/O thread as a task executor, for `SNMPManager.ioExecutor`: a task that prefers it runs its jobs on this
/// thread, between net-snmp calls, so its requests are handed over and its continuations resumed without waking
/// another thread (the caller is already here). net-snmp itself is still only called from the I/O loop.
extension SNMPIOThread: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        execute { _ in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// The hand-over from callers to the I/O thread: a locked list of work and a pipe whose byte wakes `poll`.
///
/// The pipe is written only when the I/O thread is (about to be) blocked in `poll`: it says so under the lock
/// (`sleeping`), and the first caller that finds it asleep writes one byte and clears the flag, so a burst of
/// submissions costs one wake-up, and a submission that arrives while the thread is awake (running work, or a
/// continuation resumed on the thread itself under `SNMPManager.ioExecutor`) costs no system call at all.
final class SNMPInbox: Sendable {
    private struct State {
        var work: [SNMPIOThread.Work] = []
        /// The I/O thread checked the list empty and is going to block in `poll` (set and cleared under the lock).
        var sleeping = false
    }

    private let state = Mutex(State())
    private let nextID = Atomic<UInt64>(1)
    let wakeupRead: Int32
    private let wakeupWrite: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        let status = pipe(&fds)
        precondition(status == 0, "The SNMP I/O thread cannot create its wakeup pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeupRead = fds[0]
        wakeupWrite = fds[1]
    }

    deinit {
        close(wakeupRead)
        close(wakeupWrite)
    }

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func append(_ work: @escaping SNMPIOThread.Work) {
        let wake = state.withLock { state in
            state.work.append(work)
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake {
            var byte: UInt8 = 1
            _ = write(wakeupWrite, &byte, 1)  // a full pipe already means "wake up"
        }
    }

    /// The work submitted since the last call.
    func takeWork(into work: inout [SNMPIOThread.Work]) {
        state.withLock { swap(&work, &$0.work) }
    }

    /// Whether work is waiting.
    var hasWork: Bool { state.withLock { !$0.work.isEmpty } }

    /// The I/O thread is about to block: true if it may (nothing is waiting; callers will now write the pipe).
    func prepareToSleep() -> Bool {
        state.withLock { state in
            guard state.work.isEmpty else { return false }
            state.sleeping = true
            return true
        }
    }

    /// The I/O thread is back from `poll`: submissions need no wake-up until it sleeps again.
    func wokeUp() {
        state.withLock { $0.sleeping = false }
    }
}

/// Everything the I/O thread owns. Touched only on that thread (hence `@unchecked Sendable`, for the hand-over).
final class SNMPIOLoopState: @unchecked Sendable {
    private let inbox: SNMPInbox
    private var sessions: [UInt64: NetSNMPSession] = [:]
    /// Trap/inform receivers (Traps/): their sockets are polled whenever they are open.
    var listeners: [UInt64: NetSNMPNotificationListener] = [:]
    /// Which session's credentials net-snmp's USM list currently holds for (engine ID, user name).
    private var usmOwners: [NetSNMPSession.USMKey: UInt64] = [:]
    private var readSet = netsnmp_large_fd_set()
    private var lastTimeoutSweep = ContinuousClock.now
    let logger = Logger(label: "cwmp-proxy.snmp")

    /// How often `snmp_sess_timeout` runs while requests are in flight: the granularity of retransmissions.
    /// (Asking every session for its next deadline with `snmp_sess_select_info2` costs more than a 10 ms sweep.)
    private static let sweepInterval: Duration = .milliseconds(10)

    init(inbox: SNMPInbox) { self.inbox = inbox }

    fileprivate func run() {
        Self.initializeNetSNMP()
        netsnmp_large_fd_set_init(&readSet, 1024)
        var buffer = [UInt8](repeating: 0, count: 256)
        // Reused every iteration (no allocation per turn of the loop).
        var work: [SNMPIOThread.Work] = []
        var pollFDs: [pollfd] = []
        var polled: [NetSNMPSession] = []
        var listening: [NetSNMPNotificationListener] = []
        while true {
            inbox.takeWork(into: &work)
            for item in work { item(self) }
            work.removeAll(keepingCapacity: true)
            pollFDs.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            listening.removeAll(keepingCapacity: true)
            pollFDs.append(pollfd(fd: inbox.wakeupRead, events: Int16(POLLIN), revents: 0))
            for session in sessions.values where session.hasInFlight && session.socket >= 0 {
                pollFDs.append(pollfd(fd: session.socket, events: Int16(POLLIN), revents: 0))
                polled.append(session)
            }
            for listener in listeners.values where listener.socket >= 0 {
                pollFDs.append(pollfd(fd: listener.socket, events: Int16(POLLIN), revents: 0))
                listening.append(listener)
            }
            let timeout: Int32 = polled.isEmpty ? -1 : Int32(Self.sweepInterval.components.attoseconds / 1_000_000_000_000_000)
            // Block only when no work is waiting (work submitted by the work just run, e.g. a continuation resumed
            // onto `ioExecutor`, is run after a non-blocking look at the sockets).
            let mayBlock = inbox.prepareToSleep()
            let ready = poll(&pollFDs, nfds_t(pollFDs.count), mayBlock ? timeout : 0)
            if mayBlock { inbox.wokeUp() }
            if ready > 0 {
                if pollFDs[0].revents != 0 {
                    while read(inbox.wakeupRead, &buffer, buffer.count) > 0 {}
                }
                for (index, session) in polled.enumerated() where pollFDs[index + 1].revents != 0 {
                    guard let handle = session.handle else { continue }
                    claimUSMUser(for: session)
                    netsnmp_large_fd_setfd(session.socket, &readSet)
                    _ = snmp_sess_read2(handle, &readSet)
                    netsnmp_large_fd_clr(session.socket, &readSet)
                    process(session)
                }
                for (index, listener) in listening.enumerated() where pollFDs[index + 1 + polled.count].revents != 0 {
                    listener.read(&readSet)
                }
            }
            if polled.isEmpty { continue }
            let now = ContinuousClock.now
            if now - lastTimeoutSweep >= Self.sweepInterval {
                lastTimeoutSweep = now
                for session in polled where session.hasInFlight {
                    guard let handle = session.handle else { continue }
                    claimUSMUser(for: session)
                    snmp_sess_timeout(handle)
                    process(session)
                }
            }
        }
    }

    private static func initializeNetSNMP() {
        // No MIB files (Debian ships no IETF MIBs; the manager works with numeric OIDs) unless the operator asked,
        // no persistent state written under /var/lib/snmp, and no snmp.conf of the host's: the configuration path
        // names a directory that does not exist. (NETSNMP_DS_LIB_DONT_READ_CONFIGS would also skip the post-config
        // hooks, and with them USM's empty-name user that engine-ID discovery reports are matched against.)
        setenv("MIBS", "", 0)
        set_configuration_directory("/nonexistent/cwmp-proxy-snmp")
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1)
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1)
        init_snmp("cwmp-proxy")
    }

    // MARK: - Work submitted by callers

    /// Opens (or finds) the session for `agent` under `sessionID`.
    func session(_ sessionID: UInt64, agent: SNMPAgent) throws(SNMPBridgeError) -> NetSNMPSession {
        if let session = sessions[sessionID] { return session }
        let session = try NetSNMPSession(id: sessionID, agent: agent)
        sessions[sessionID] = session
        logger.debug("SNMP session opened", metadata: ["snmp.agent": "\(agent)", "snmp.session": "\(sessionID)"])
        return session
    }

    /// The session ID a shut-down manager hands out (IDs from `makeID` start at 1).
    static let closedSessionID: UInt64 = 0

    func submit(_ request: SNMPPendingRequest, sessionID: UInt64, agent: SNMPAgent) {
        guard sessionID != Self.closedSessionID else {
            request.continuation?.resume(throwing: SNMPBridgeError(.sessionClosed, "The SNMP manager was shut down"))
            return
        }
        let session: NetSNMPSession
        do {
            session = try self.session(sessionID, agent: agent)
        } catch {
            request.continuation?.resume(throwing: error)
            return
        }
        let action = session.machine.requestSubmitted(request.id, probeID: session.needsProbeID ? inbox.makeID() : 0)
        if case .send(let ids) = action, ids.count == 1, ids[0] == request.id {
            // The common case (v1/v2c, or v3 with its engine known): straight to net-snmp, not via the queue.
            claimUSMUser(for: session)
            do {
                try session.send(request)
            } catch {
                request.continuation?.resume(throwing: error)
            }
            return
        }
        session.queued[request.id] = request
        run(action, on: session)
    }

    /// What a session still has outstanding, on our side and in net-snmp (nil when there is no such session).
    func outstanding(_ sessionID: UInt64) -> (inFlight: Int, abandoned: Int, queued: Int, netSNMP: Bool)? {
        guard let session = sessions[sessionID] else { return nil }
        let counts = session.counts
        return (counts.inFlight, counts.abandoned, counts.queued, session.netSNMPHasOutstandingRequests)
    }

    func cancel(_ requestID: UInt64, sessionID: UInt64) {
        guard let session = sessions[sessionID], let request = session.forget(requestID) else { return }
        _ = session.machine.requestCancelled(requestID)
        request.continuation?.resume(throwing: CancellationError())
    }

    func close(_ sessionID: UInt64) {
        guard let session = sessions.removeValue(forKey: sessionID) else { return }
        for request in session.takeAll() {
            request.continuation?.resume(throwing: SNMPBridgeError(.sessionClosed,
                "The SNMP session to \(session.agent) was closed"))
        }
        if let key = session.usmKey, usmOwners[key] == session.id {
            usmOwners[key] = nil
            key.engineID.withUnsafeBufferPointer { engineID in
                cns_usm_remove_user(engineID.baseAddress, engineID.count, key.userName)
            }
        }
        session.close()
        logger.debug("SNMP session closed", metadata: ["snmp.agent": "\(session.agent)", "snmp.session": "\(sessionID)"])
    }

    // MARK: - Acting on the state machine and on outcomes

    private func run(_ action: SNMPSessionStateMachine.Action, on session: NetSNMPSession) {
        switch action {
        case .none:
            break
        case .send(let ids):
            sendQueued(ids, on: session)
        case .sendProbe(let probeID):
            claimUSMUser(for: session)
            do {
                try session.send(SNMPPendingRequest(id: probeID, kind: .probe, continuation: nil))
            } catch {
                run(session.machine.probeFailed(probeID, error), on: session)
            }
        case .installUserAndSend(let ids):
            claimUSMUser(for: session)
            sendQueued(ids, on: session)
        case .fail(let ids, let error):
            for id in ids { session.queued.removeValue(forKey: id)?.continuation?.resume(throwing: error) }
        }
    }

    private func sendQueued(_ ids: [UInt64], on session: NetSNMPSession) {
        claimUSMUser(for: session)
        for id in ids {
            guard let request = session.queued.removeValue(forKey: id) else { continue }  // cancelled meanwhile
            do {
                try session.send(request)
            } catch {
                request.continuation?.resume(throwing: error)
            }
        }
    }

    /// Makes net-snmp's process-wide USM entry for this session's (engine ID, user) carry this session's keys, if
    /// another session (same user and engine, other credentials) installed its own since.
    private func claimUSMUser(for session: NetSNMPSession) {
        guard let key = session.usmKey, usmOwners[key] != session.id, let handle = session.handle else { return }
        let status = cns_usm_install_session_user(handle)
        if status == SNMPERR_SUCCESS {
            usmOwners[key] = session.id
        } else {
            logger.warning("SNMPv3 user installation failed", metadata: [
                "snmp.agent": "\(session.agent)", "snmp.error": "\(NetSNMPConversions.apiErrorText(status))",
            ])
        }
    }

    private func process(_ session: NetSNMPSession) {
        for (request, outcome) in session.takeOutcomes() {
            if case .probe = request.kind {
                switch outcome {
                case .report(_, let engineID) where !engineID.isEmpty, .response(_, _, _, let engineID) where !engineID.isEmpty:
                    session.adoptEngineID(engineID)
                    run(session.machine.probeSucceeded(request.id), on: session)
                case .timedOut:
                    run(session.machine.probeFailed(request.id, SNMPBridgeError(.timedOut,
                        "No answer to SNMPv3 engine-ID discovery from \(session.agent) within \(session.agent.timeout) × \(session.agent.retries + 1)")),
                        on: session)
                default:
                    run(session.machine.probeFailed(request.id, SNMPBridgeError(.engineDiscoveryFailed,
                        "SNMPv3 engine-ID discovery with \(session.agent) failed: \(describe(outcome))")), on: session)
                }
                continue
            }
            request.continuation.map { complete($0, request: request, outcome: outcome, session: session) }
        }
    }

    private func describe(_ outcome: SNMPOutcome) -> String {
        switch outcome {
        case .response: "an answer without an engine ID"
        case .report(let code, _): NetSNMPConversions.apiErrorText(code)
        case .timedOut: "timeout"
        case .sendFailed(let code): NetSNMPConversions.apiErrorText(code)
        }
    }

    private func complete(_ continuation: CheckedContinuation<[SNMPVarBind], any Error>, request: SNMPPendingRequest,
                          outcome: SNMPOutcome, session: NetSNMPSession) {
        switch outcome {
        case .response(0, _, .success, _): break
        default:
            // Constant message, data in metadata; the agent's description carries no community or password.
            logger.debug("SNMP request failed", metadata: [
                "snmp.agent": "\(session.agent)", "snmp.request": "\(request.kind.name)",
                "snmp.outcome": "\(outcome.isResponse ? "error-status or malformed answer" : describe(outcome))",
            ])
        }
        switch outcome {
        case .timedOut:
            continuation.resume(throwing: SNMPBridgeError(.timedOut,
                "No answer to the \(request.kind.name) from \(session.agent) within \(session.agent.timeout) × \(session.agent.retries + 1)"))
        case .sendFailed(let code):
            continuation.resume(throwing: SNMPBridgeError(.netSNMPError,
                "Sending the \(request.kind.name) to \(session.agent) failed: \(NetSNMPConversions.apiErrorText(code))",
                netSNMPErrorCode: Int(code)))
        case .report(let code, _):
            continuation.resume(throwing: NetSNMPConversions.reportError(code))
        case .response(let errorStatus, let errorIndex, let varBinds, _):
            if errorStatus != 0 {
                continuation.resume(throwing: SNMPBridgeError(.pduError,
                    "\(session.agent) refused the \(request.kind.name): \(NetSNMPConversions.pduErrorText(errorStatus))",
                    pduErrorStatus: errorStatus, pduErrorIndex: errorIndex))
                return
            }
            switch varBinds {
            case .failure(let error):
                continuation.resume(throwing: error)
            case .success(let varBinds):
                if let expected = request.kind.requestedCount, varBinds.count != expected {
                    continuation.resume(throwing: SNMPBridgeError(.malformedResponse,
                        "\(session.agent) answered \(varBinds.count) varbinds to a \(request.kind.name) of \(expected)"))
                } else {
                    continuation.resume(returning: varBinds)
                }
            }
        }
    }
}

extension SNMPOutcome {
    var isResponse: Bool { if case .response = self { true } else { false } }
}
