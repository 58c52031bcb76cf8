// Download (TR-069 §A.3.2.8, REQUIRED of a CPE by Table 5) for the gateway's own agent.
//
// The Download is accepted with Status 1 once it is recorded as a pending transfer (so a restart knows about it);
// then, outside the session: wait DelaySeconds, fetch the file into the state directory (`FileDownloadClient`),
// hand it to the hook configured for its FileType, and queue the TransferComplete with `7 TRANSFER COMPLETE` +
// `M Download` and the CommandKey (`CWMPAgent.queueRequest`, persisted before the agent acts on it). There is no
// pretend success: a FileType without a hook, a fetch that fails, a hook that fails, or a transfer cut short by a
// restart is reported with its fault. Only http and https are transfer protocols here; any other URL scheme is
// answered at once with fault 9013 (which TransferComplete may not carry).
//
// The hook is an executable run without a shell: `HOOK FILE FILETYPE TARGETFILENAME`. Exit status 0 means the file
// was applied. The file is deleted when the hook returns: a hook that needs it later copies it. The ACS's
// TargetFileName is passed as an argument only, never used as a path.
import CWMPClient
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the gateway does with downloads.
public struct DownloadConfiguration: Sendable, Hashable {
    /// Where files are fetched to (created 0700 if missing); conventionally `<state dir>/downloads`.
    public var directory: String
    /// FileType (`1 Firmware Upgrade Image`, `3 Vendor Configuration File`, `X 00D09E name`, …) → absolute path of
    /// the executable that applies such a file. A FileType without an entry is refused (TransferComplete 9010).
    public var hooks: [String: String]
    public var maximumFileSize: Int
    /// Bound on the fetch, and separately on the hook.
    public var timeLimit: Duration
    /// PEM CA bundle an https file server must chain to; nil: the system trust store.
    public var caBundlePath: String?

    public init(directory: String, hooks: [String: String] = [:], maximumFileSize: Int = 64 << 20,
                timeLimit: Duration = .seconds(600), caBundlePath: String? = nil) {
        self.directory = directory
        self.hooks = hooks
        self.maximumFileSize = maximumFileSize
        self.timeLimit = timeLimit
        self.caBundlePath = caBundlePath
    }
}

/// The gateway agent's actions: Reboot, FactoryReset and ScheduleInform (through the session's follow-ups) and
/// Download. Give it to `CWMPAgent(…, actions:)`, then `attach` the agent.
public final class DownloadActions: CWMPAgentActions {
    private struct AgentReference: Sendable {
        weak var agent: CWMPAgent?
    }

    public let configuration: DownloadConfiguration
    private let client: FileDownloadClient
    private let logger: Logger
    /// Weak: the agent owns its dispatcher, which owns these actions.
    private let reference = Mutex(AgentReference())
    private let running = Mutex<[Int64: Task<Void, Never>]>([:])
    /// Held from recording a transfer until its task is in `running`, and by `reportInterruptedTransfers`: so the
    /// recovery never takes a transfer recorded by this process, between the two steps, for one left by the last.
    private let recording = AsyncExclusion()

    public init(configuration: DownloadConfiguration, logger: Logger = Logger(label: "cwmp-proxy.download")) {
        self.configuration = configuration
        self.client = FileDownloadClient(
            configuration: .init(maximumBytes: configuration.maximumFileSize, timeLimit: configuration.timeLimit,
                                 trustRoots: configuration.caBundlePath.map { .caBundle(path: $0) } ?? .system),
            logger: logger)
        self.logger = logger
    }

    /// What every agent that acts on the session's follow-ups supports (`RebootCapableActions`), plus Download.
    public var supportedMethods: Set<CPEMethod> { RebootCapableActions().supportedMethods.union([.download]) }

    /// The agent whose transfers these are (the one built with these actions).
    public func attach(_ agent: CWMPAgent) {
        reference.withLock { $0.agent = agent }
    }

    /// Downloads still running (for tests and shutdown).
    public var activeDownloads: Int { running.withLock { $0.count } }

    public func startDownload(_ request: Download) async throws -> TransferResponse {
        let lowercased = request.url.lowercased()
        guard lowercased.hasPrefix("http://") || lowercased.hasPrefix("https://"), ACSURL(request.url) != nil else {
            throw ProxierError(.unsupportedTransferProtocol, "only http and https URLs can be downloaded")
        }
        guard let agent = reference.withLock({ $0.agent }) else {
            throw ProxierError(.requestDenied, "downloads are not available")
        }
        // Recorded before the DownloadResponse goes out: a Status 1 the store does not know would be lost by a
        // restart. (The URL is kept, never the password.)
        await recording.acquire()
        defer { recording.release() }
        let id = try await agent.recordTransfer(PendingTransfer(
            commandKey: request.commandKey, kind: .download, state: .queued, fileType: request.fileType,
            url: request.url, targetFileName: request.targetFileName))
        // Created under the lock, so the task's own removal (which takes the lock) always comes after this insert.
        running.withLock { tasks in
            tasks[id] = Task { [self] in
                await perform(request, id: id, agent: agent)
                _ = running.withLock { $0.removeValue(forKey: id) }
            }
        }
        return TransferResponse(status: 1)
    }

    /// Transfers recorded before a restart and never reported: the process died during them, so they are reported
    /// failed (9010, interrupted), not resumed. Call once the agent has started.
    public func reportInterruptedTransfers() async {
        guard let agent = reference.withLock({ $0.agent }) else { return }
        await recording.acquire()
        defer { recording.release() }
        do {
            let owed = Set(await agent.pendingRequests.compactMap { request -> String? in
                if case .transferComplete(let report) = request { return report.commandKey }
                return nil
            })
            let active = running.withLock { Set($0.keys) }
            for stored in try await agent.pendingTransfers()
            where stored.transfer.kind == .download && !active.contains(stored.id)
                && !owed.contains(stored.transfer.commandKey) {
                var transfer = stored.transfer
                if transfer.state != .completed {
                    transfer.faultCode = 9010
                    transfer.faultString = "the download was interrupted by a restart"
                }
                await complete(transfer, id: stored.id, agent: agent)
            }
        } catch {
            logger.error("cwmp.download.recovery-failed", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ request: Download, id: Int64, agent: CWMPAgent) async {
        if request.delaySeconds > 0 {
            try? await Task.sleep(for: .seconds(Int(request.delaySeconds)))
        }
        var transfer = PendingTransfer(commandKey: request.commandKey, kind: .download, state: .inProgress,
                                       fileType: request.fileType, url: request.url,
                                       targetFileName: request.targetFileName, startTime: Self.now())
        try? await agent.updateTransfer(id: id, transfer)
        let fault = await fetchAndApply(request, id: id)
        transfer.state = .completed
        transfer.faultCode = fault.faultCode
        transfer.faultString = fault.faultString
        transfer.completeTime = Self.now()
        logger.info("cwmp.download.completed", metadata: [
            "cwmp.transfer.id": .stringConvertible(id), "cwmp.transfer.fault": .stringConvertible(fault.faultCode),
        ])
        try? await agent.updateTransfer(id: id, transfer)
        await complete(transfer, id: id, agent: agent)
    }

    private func complete(_ transfer: PendingTransfer, id: Int64, agent: CWMPAgent) async {
        let report = TransferComplete(
            commandKey: transfer.commandKey,
            fault: TransferFault(faultCode: transfer.faultCode, faultString: String(transfer.faultString.prefix(256))),
            startTime: transfer.startTime.map { CWMPDateTime(rawValue: $0) } ?? .unknown,
            completeTime: transfer.completeTime.map { CWMPDateTime(rawValue: $0) } ?? .unknown)
        do {
            try await agent.queueRequest(.transferComplete(report),
                                         events: [EventStruct(eventCode: EventCode.transferComplete),
                                                  EventStruct(eventCode: "M Download", commandKey: transfer.commandKey)],
                                         transferID: id)
        } catch {
            logger.error("cwmp.download.report-failed", metadata: ["error": "\(error)"])
        }
    }

    /// Fetches the file and applies it; the fault to report (code 0: applied).
    private func fetchAndApply(_ request: Download, id: Int64) async -> TransferFault {
        guard let hook = configuration.hooks[request.fileType] else {
            return .transfer(9010, "FileType '\(request.fileType)' is not supported by this CPE")
        }
        if mkdir(configuration.directory, 0o700) != 0, errno != EEXIST {
            return .transfer(9002, "cannot create the download directory")
        }
        let path = configuration.directory + "/download-\(id)"
        _ = unlink(path)  // a leftover of a run that died mid-download
        let credentials = request.username.isEmpty && request.password.isEmpty
            ? nil : HTTPCredentials(username: request.username, password: request.password)
        switch await client.download(url: request.url, credentials: credentials, expectedSize: request.fileSize, to: path) {
        case .failed(let fault):
            return fault
        case .downloaded:
            defer { _ = unlink(path) }
            let status = await HookProcess.run(hook, arguments: [path, request.fileType, request.targetFileName],
                                               timeLimit: configuration.timeLimit)
            switch status {
            case 0?: return .none
            case let code?: return .transfer(9010, "applying the file failed (hook exit status \(code))")
            case nil:
                return .transfer(9010, "applying the file failed (the hook could not run, was killed, or ran out of time)")
            }
        }
    }

    static func now() -> String? {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return (try? CWMPDateTime(secondsSince1970: Int64(time.tv_sec)))?.rawValue
    }
}

/// A lock that is held across suspension points: waiters queue in order, nothing blocks a thread.
final class AsyncExclusion: Sendable {
    private let state = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Hands the lock to the next waiter, if any (it stays held), or frees it.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Runs an executable without a shell, with a time limit (then SIGKILL).
enum HookProcess {
    /// The exit status, or nil when it could not start, was killed by a signal or ran out of time.
    static func run(_ executable: String, arguments: [String], timeLimit: Duration) async -> Int32? {
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let started = (argv + [nil]).withUnsafeBufferPointer { buffer in
            posix_spawn(&pid, executable, nil, nil, UnsafeMutablePointer(mutating: buffer.baseAddress!), environ)
        }
        guard started == 0 else { return nil }
        let deadline = ContinuousClock.now.advanced(by: timeLimit)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0, errno != EINTR { return nil }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // WIFEXITED / WEXITSTATUS are macros: a normal exit has the low 7 bits clear, the status in bits 8–15.
        guard status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }
}
