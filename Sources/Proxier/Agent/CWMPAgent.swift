// One CWMP agent (the gateway, or one virtual device of TR-069 Annex J.2): the shell around the pure
// `AgentStateMachine` (when to inform) and `CWMPSessionStateMachine` (one session), doing the I/O they ask for:
// the store, the transport, the data model, the shared timer. Idle, an agent is this actor's fields and its
// data model; no task, timer or connection of its own except the subscription to its ManagementServer settings.
import CWMPClient
import Logging
import Synchronization

/// What an agent does instead of really rebooting or resetting: injectable, so a virtual device can restart its
/// proxied device and the tests can observe it. The defaults only log — the agent never reboots the host.
public struct AgentHooks: Sendable {
    /// Runs after a clean session end, once `1 BOOT` + `M Reboot` are persisted.
    public var reboot: @Sendable (_ agentID: String, _ commandKey: String) async -> Void
    /// Runs after a clean session end, once the agent's state is reset (BOOTSTRAP + BOOT persisted).
    public var factoryReset: @Sendable (_ agentID: String) async -> Void

    public init(reboot: @escaping @Sendable (String, String) async -> Void = { _, _ in },
                factoryReset: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.reboot = reboot
        self.factoryReset = factoryReset
    }
}

/// The shared resources of the process that every agent uses.
public struct AgentEnvironment: Sendable {
    public var store: AgentStore
    public var transport: any ACSTransport
    public var clock: any AgentClock
    public var timer: AgentTimer
    public var sessionGate: SessionGate
    /// The listener the agent registers with; nil: no Connection Requests (503-less, nothing listens).
    public var connectionRequestServer: ConnectionRequestServer?
    /// Host and port put into ConnectionRequestURL (what the ACS can reach, not necessarily the bind address).
    public var connectionRequestHost: String
    public var connectionRequestPort: Int
    public var logger: Logger

    public init(store: AgentStore, transport: any ACSTransport, clock: any AgentClock = SystemAgentClock(),
                timer: AgentTimer? = nil, sessionGate: SessionGate = SessionGate(limit: 64),
                connectionRequestServer: ConnectionRequestServer? = nil, connectionRequestHost: String = "127.0.0.1",
                connectionRequestPort: Int = 7547, logger: Logger = Logger(label: "cwmp-proxy.agent")) {
        self.store = store
        self.transport = transport
        self.clock = clock
        self.timer = timer ?? AgentTimer(clock: clock)
        self.sessionGate = sessionGate
        self.connectionRequestServer = connectionRequestServer
        self.connectionRequestHost = connectionRequestHost
        self.connectionRequestPort = connectionRequestPort
        self.logger = logger
    }
}

/// One CPE identity talking CWMP to its ACS.
public actor CWMPAgent: ConnectionRequestAgent {
    public struct Configuration: Sendable {
        /// The store key and jitter seed, conventionally `OUI-ProductClass-SerialNumber`.
        public var agentID: String
        public var deviceId: DeviceId
        /// The first session after start waits a per-agent slot in this window (InformJitter).
        public var startupJitterWindow: Duration
        public var session: CWMPSessionStateMachine.Configuration
        /// Bound on a whole session (every HTTP exchange is bounded by `session.waitTimeout` on its own).
        public var sessionTimeLimit: Duration
        /// Budget of one ACS request against the data model.
        public var rpcBudget: Duration

        public init(agentID: String, deviceId: DeviceId, startupJitterWindow: Duration = .seconds(120),
                    session: CWMPSessionStateMachine.Configuration = .init(), sessionTimeLimit: Duration = .seconds(600),
                    rpcBudget: Duration = CPEMethodDispatcher.defaultBudget) {
            self.agentID = agentID
            self.deviceId = deviceId
            self.startupJitterWindow = startupJitterWindow
            self.session = session
            self.sessionTimeLimit = sessionTimeLimit
            self.rpcBudget = rpcBudget
        }
    }

    /// Read on NIO event loops by the Connection Request listener, so outside the actor.
    private struct ConnectionRequestState: Sendable {
        var credentials = HTTPCredentials(username: "", password: "")
        /// HTTPConnectionRequestEnable.
        var enabled = true
        /// EnableCWMP: false refuses Connection Requests too (TR-181 ✔ "MUST NOT … accept any Connection Request").
        var cwmpEnabled = true
        var serving = false
    }

    /// A stored parameter value under which the agent keeps its Connection Request path, so the URL the ACS
    /// learnt stays valid across restarts.
    static let connectionRequestPathKey = "Device.ManagementServer.X_CWMPPROXY_ConnectionRequestPath"
    /// A stored parameter value: the ConnectionRequestURL the ACS last acknowledged in an Inform. Only a URL that
    /// differs from it is a value change at start; without it (first contact) the BOOTSTRAP Inform carries the
    /// URL as a forced-inform parameter and nothing changed from the ACS's point of view.
    static let reportedConnectionRequestURLKey = "Device.ManagementServer.X_CWMPPROXY_ReportedConnectionRequestURL"

    public let configuration: Configuration
    public nonisolated let agentID: String
    public let dataModel: DataModel
    public let managementServer: ManagementServerProvider
    private let dispatcher: CPEMethodDispatcher
    private let hooks: AgentHooks
    private let environment: AgentEnvironment
    private let logger: Logger
    private nonisolated let connectionRequest = Mutex(ConnectionRequestState())

    private var machine: AgentStateMachine
    /// The store's pending events as last written or read: what `syncEvents` diffs the event queue against.
    private var persistedEvents: [PendingEvent] = []
    /// The store's RetryCount as last written or read: a session that leaves it unchanged writes nothing for it.
    private var persistedRetryCount = 0
    /// Value changes taken from the data model and not yet in an acknowledged Inform.
    private(set) var pendingValueChanges: [DataModel.ValueChange] = []
    /// Per pending change, the merge that last recorded it: a parameter that changes again after an Inform read its
    /// value stays pending when that Inform is acknowledged (the ACS has not seen the newer value).
    private var valueChangeGenerations: [String: UInt64] = [:]
    private var valueChangeCounter: UInt64 = 0
    /// The store's pending value changes (path → Notification) as last written or read: what `syncEvents` diffs
    /// `pendingValueChanges` against.
    private var persistedValueChanges: [String: Int] = [:]
    /// The store's scheduled informs as last written or read: what `syncEvents` diffs the machine's against.
    private var persistedScheduledInforms: [StoredScheduledInform] = []
    /// The data model's persistent state as the store holds it: what `saveState` diffs against.
    private var savedState = DataModelState()
    /// The CPE requests in the store (a subset of `machine.pendingRequests`, equal unless a write failed), with
    /// their store ids, oldest first.
    private var persistedRequests: [PersistedRequest] = []
    private var isSaving = false
    private var saveWaiters: [CheckedContinuation<Void, Never>] = []
    private var isSyncing = false
    /// Counts the syncs that committed a removal of events (acknowledgment, discard): tells a session that waited
    /// for the gate whether the events it read before may include one the store no longer holds.
    private var eventRemovals: UInt64 = 0
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var settingsTask: Task<Void, Never>?
    /// The ManagementServer settings the agent last acted on (`catchUpWithSettings`).
    private var settingsInEffect = ManagementServerSettings()
    private var isCatchingUp = false
    /// A FactoryReset is applying the restored settings (`catchUpWithSettings` leaves them to it).
    private var resettingToFactoryDefaults = false
    private var catchUpWaiters: [CheckedContinuation<Void, Never>] = []
    private var valueChangeTask: Task<Void, Never>?
    /// The ConnectionRequestURL in the last Inform the ACS acknowledged (as stored under
    /// `reportedConnectionRequestURLKey`).
    private var reportedConnectionRequestURL: String?
    private var connectionRequestPath: String?
    private var sessionCounter: UInt64 = 0
    private var started = false
    private var generator = SystemRandomNumberGenerator()

    /// Sessions that ended (clean or not), and the last outcome: for tests and diagnostics.
    public private(set) var sessionsEnded = 0
    public private(set) var lastOutcome: SessionOutcome?

    public init(configuration: Configuration, dataModel: DataModel, managementServer: ManagementServerProvider,
                actions: any CWMPAgentActions = RebootCapableActions(), hooks: AgentHooks = AgentHooks(),
                environment: AgentEnvironment) {
        self.configuration = configuration
        self.agentID = configuration.agentID
        self.dataModel = dataModel
        self.managementServer = managementServer
        self.dispatcher = CPEMethodDispatcher(dataModel: dataModel, actions: actions)
        self.hooks = hooks
        self.environment = environment
        var logger = environment.logger
        logger[metadataKey: "device.id"] = .string(configuration.agentID)
        self.logger = logger
        self.machine = AgentStateMachine(configuration: .init(agentID: configuration.agentID,
                                                              startupJitterWindow: configuration.startupJitterWindow))
    }

    /// The gateway's own agent.
    public init(configuration: Configuration, gateway: GatewayDataModel, actions: any CWMPAgentActions = RebootCapableActions(),
                hooks: AgentHooks = AgentHooks(), environment: AgentEnvironment) {
        self.init(configuration: configuration, dataModel: gateway.model, managementServer: gateway.managementServer,
                  actions: actions, hooks: hooks, environment: environment)
    }

    // MARK: - Life cycle

    /// Restores the agent from `snapshot` (the host's one `loadAll()`; nil: read or create it in the store),
    /// registers it for Connection Requests and lets the state machine decide the first session: `1 BOOT` always
    /// (the process started), `0 BOOTSTRAP` when the ACS URL is not the one last bootstrapped with.
    public func start(snapshot: AgentSnapshot? = nil) async throws {
        guard !started else { return }
        let store = environment.store
        var snapshot = snapshot
        if snapshot == nil { snapshot = try await store.load(agentID) }
        if snapshot == nil {
            try await store.createAgent(agentID)
            snapshot = AgentSnapshot(agentID: agentID)
        }
        let restored = snapshot!
        let settings = await managementServer.settings
        settingsInEffect = settings

        // Instance numbers, aliases, attributes and ParameterKey as they were: the numbers the ACS has seen.
        var state = await dataModel.exportState()
        state.restore(from: restored)
        await dataModel.importState(state)
        // What the store holds, so that the first save writes whatever the in-memory state had beyond it.
        savedState = DataModelState()
        savedState.restore(from: restored)

        // The CPE requests owed to the ACS go back to the state machine; their events are among the pending ones.
        persistedRequests = []
        for stored in restored.requests {
            do {
                persistedRequests.append(PersistedRequest(id: stored.id, request: try CPERequest(persisted: stored.request)))
            } catch {
                // Left in the store (nothing is deleted unread); the error says which row it is.
                logger.error("cwmp.agent.request-unreadable", metadata: ["cwmp.request.id": "\(stored.id)",
                                                                         "error": "\(error)"])
            }
        }

        persistedEvents = restored.pendingEvents
        persistedRetryCount = restored.retryCount
        // Value changes no acknowledged Inform reported. A restart of the proxier is not a reboot of the devices
        // whose parameters changed (they still hold the new values), so unlike a Reboot (`runPostSessionAction`)
        // it keeps them: the first Inform carries `1 BOOT` and `4 VALUE CHANGE` with their current values.
        let recordedBeforeStart = pendingValueChanges
        pendingValueChanges = []
        valueChangeGenerations = [:]
        mergeValueChanges(restored.pendingValueChanges.sorted { $0.key < $1.key }.map {
            DataModel.ValueChange(name: $0.key, notification: NotificationValue(rawValue: $0.value))
        })
        mergeValueChanges(recordedBeforeStart)
        persistedValueChanges = restored.pendingValueChanges
        let queue = EventQueue(
            records: restored.pendingEvents.map {
                EventQueue.Record(sequence: UInt64(max($0.sequence, 1)), eventCode: $0.code, commandKey: $0.commandKey)
            },
            nextSequence: UInt64(max(restored.pendingEvents.map(\.sequence).max() ?? 0, 0)) + 1)
        let retry = SessionRetryPolicy(minimumWaitInterval: settings.cwmpRetryMinimumWaitInterval,
                                       intervalMultiplier: settings.cwmpRetryIntervalMultiplier,
                                       retryCount: UInt32(clamping: restored.retryCount))
        machine = AgentStateMachine(configuration: .init(agentID: agentID,
                                                         startupJitterWindow: configuration.startupJitterWindow),
                                    eventQueue: queue, retryPolicy: retry,
                                    pendingRequests: persistedRequests.map(\.request),
                                    scheduledInforms: ScheduledInforms(items: restored.scheduledInforms.map {
                                        let due = CWMPInstant(sinceUnixEpoch: .milliseconds($0.dueMilliseconds))
                                        return ScheduledInforms.Item(due: due, commandKey: $0.commandKey)
                                    }))
        persistedScheduledInforms = restored.scheduledInforms

        updateConnectionRequestCredentials(settings)
        reportedConnectionRequestURL = restored.parameterValues[Self.reportedConnectionRequestURLKey]?.value
        await registerForConnectionRequests(stored: restored.parameterValues[Self.connectionRequestPathKey]?.value)

        // Changes the data model records from now on reach `valueChangesRecorded`. Those recorded before (a new
        // ConnectionRequestURL, a provider's change during start-up) go into the first Inform as pending changes
        // (with `4 VALUE CHANGE`), never into a session of their own: subscribed first, then drained, so none
        // falls between; a signal for what was drained here finds nothing and does nothing.
        let signals = await dataModel.valueChangeSignals()
        mergeValueChanges(await dataModel.takeValueChanges())
        valueChangeTask = Task { [weak self] in
            for await _ in signals {
                guard let self else { return }
                await self.valueChangesRecorded()
            }
        }

        let stream = managementServer.changes()
        settingsTask = Task { [weak self] in
            for await _ in stream {
                guard let self else { return }
                await self.catchUpWithSettings()
            }
        }

        started = true
        connectionRequest.withLock { $0.serving = true }
        let now = environment.clock.now()
        // Everything before `start`: while stopped the machine only records, so BOOTSTRAP and the schedules are in
        // place when `start` picks the first Inform's events (after it, BOOTSTRAP would miss that Inform).
        if !settings.url.isEmpty, restored.bootstrappedACSURL != settings.url {
            _ = machine.acsURLChanged(now: now)
            discardValueChanges()
        }
        _ = machine.setCWMPEnabled(Self.sessionsAllowed(settings), now: now)
        _ = machine.setPeriodicInform(Self.periodicSchedule(settings, now: now), now: now)
        _ = machine.setHeartbeatPolicy(Self.heartbeat(settings, now: now), now: now)
        _ = machine.setActiveNotificationThrottle(.seconds(settings.defaultActiveNotificationThrottle), now: now)
        let actions = [machine.start(now: now, booted: true)]
        await syncEvents()
        // Settings changed before the start (a reload) and instances numbered before it.
        await saveState(logger: logger)
        logger.info("cwmp.agent.started", metadata: ["cwmp.events.pending": "\(machine.eventQueue.records.count)"])
        for action in actions { perform(action) }
    }

    /// Stops informing and answering Connection Requests. A session under way runs to its end (bounded).
    public func stop() async {
        guard started else { return }
        started = false
        connectionRequest.withLock { $0.serving = false }
        settingsTask?.cancel()
        settingsTask = nil
        valueChangeTask?.cancel()
        valueChangeTask = nil
        environment.timer.disarm(owner: ObjectIdentifier(self))
        if let path = connectionRequestPath { environment.connectionRequestServer?.unregister(path: path) }
        // What is left (a settings change made just before): in a task of its own, so a stop from a cancelled
        // task (shutdown) still writes it.
        _ = await Task { await self.saveState(logger: self.logger) }.value
        logger.info("cwmp.agent.stopped")
    }

    /// Something outside the ACS changed parameters (a provider, the subscriber) and recorded it with
    /// `DataModel.recordValueChanges`: active notifications open a `4 VALUE CHANGE` session, passive ones wait.
    ///
    /// Returns once the changes are in the store (with the `4 VALUE CHANGE` event of an active one), so a `kill -9`
    /// after it loses none of them; if the store write fails they stay in memory and the next sync writes them.
    public func valueChangesRecorded() async {
        let changes = await dataModel.takeValueChanges()
        guard !changes.isEmpty else { return }
        mergeValueChanges(changes)
        // Before `start` the store may not hold the agent yet: `start` writes them.
        guard started else { return }
        var action = AgentStateMachine.Action.none
        if changes.contains(where: { $0.notification == .active }) {
            action = machine.eventOccurred(EventStruct(eventCode: EventCode.valueChange), now: environment.clock.now())
        }
        await syncEvents()
        perform(action)
    }

    /// The deadline the agent is waiting for (start-up slot, retry wait, periodic inform), if any.
    public nonisolated var armedDeadline: CWMPInstant? { environment.timer.deadline(of: ObjectIdentifier(self)) }

    /// The Connection Request URL published in the data model, once registered.
    public var connectionRequestURL: String? {
        connectionRequestPath.map {
            ConnectionRequestServer.connectionRequestURL(host: environment.connectionRequestHost,
                                                         port: environment.connectionRequestPort, path: $0)
        }
    }

    public var retryCount: UInt32 { machine.retryPolicy.retryCount }

    /// The retry parameters in force (CWMPRetryMinimumWaitInterval, CWMPRetryIntervalMultiplier) and RetryCount.
    public var retryPolicy: SessionRetryPolicy { machine.retryPolicy }

    // MARK: - Connection Requests (called on NIO event loops)

    public nonisolated func connectionRequestCredentials() -> HTTPCredentials {
        connectionRequest.withLock { $0.credentials }
    }

    public nonisolated func connectionRequestReceived() -> ConnectionRequestOutcome {
        let serving = connectionRequest.withLock { $0.serving && $0.enabled && $0.cwmpEnabled }
        guard serving else { return .cannotServe }
        Task { await self.connectionRequested() }
        return .accepted
    }

    private func connectionRequested() async {
        guard started else { return }
        logger.info("cwmp.cr.accepted")
        let action = machine.connectionRequestReceived(now: environment.clock.now())
        await syncEvents()
        perform(action)
    }

    private func registerForConnectionRequests(stored: String?) async {
        guard let server = environment.connectionRequestServer else { return }
        var path: String? = nil
        if let stored, (try? server.register(agent: self, path: stored)) != nil { path = stored }
        if path == nil {
            let fresh = server.register(agent: self)
            path = fresh
            do {
                _ = try await environment.store.apply([.setValue(path: Self.connectionRequestPathKey,
                                                                 StoredParameterValue(value: fresh))], to: agentID)
            } catch {
                logger.warning("cwmp.cr.path-not-persisted", metadata: ["error": "\(error)"])
            }
        }
        connectionRequestPath = path
        guard let url = connectionRequestURL else { return }
        await managementServer.setConnectionRequestURL(url)
        // ConnectionRequestURL has active notification by default: a URL other than the one the ACS last
        // acknowledged is a value change, reported in the first Inform (see `start`). None acknowledged yet: the
        // ACS learns it from the BOOTSTRAP Inform, where it is a forced-inform parameter.
        // With HTTPConnectionRequestEnable false the parameter reads "" (TR-181 ✔ MUST be empty).
        let served = (await managementServer.settings).httpConnectionRequestEnable ? url : ""
        if let reported = reportedConnectionRequestURL, reported != served {
            await dataModel.recordValueChanges(["Device.ManagementServer.ConnectionRequestURL"])
        }
    }

    private func updateConnectionRequestCredentials(_ settings: ManagementServerSettings) {
        connectionRequest.withLock {
            $0.credentials = HTTPCredentials(username: settings.connectionRequestUsername,
                                             password: settings.connectionRequestPassword)
            $0.enabled = settings.httpConnectionRequestEnable
            $0.cwmpEnabled = settings.enableCWMP
        }
    }

    // MARK: - Settings

    /// Acts on the settings as they are now, as one change from those last acted on. The settings stream tells of
    /// a change soon after it is made, but its task may reach the actor only after the agent's next step: the end
    /// of a session in which the ACS set a new URL catches up first, so the next session goes to the new ACS with
    /// `0 BOOTSTRAP` (seen without: a Connection Request queued during that session went to the new ACS with only
    /// `6 CONNECTION REQUEST`). One catch-up at a time, in order: the actor is re-entrant at the settings read.
    private func catchUpWithSettings() async {
        while isCatchingUp {
            await withCheckedContinuation { catchUpWaiters.append($0) }
        }
        isCatchingUp = true
        defer {
            isCatchingUp = false
            if !catchUpWaiters.isEmpty { catchUpWaiters.removeFirst().resume() }
        }
        let current = await managementServer.settings
        guard !resettingToFactoryDefaults, current != settingsInEffect else { return }
        // `settingsChanged` reads what changed from previous and current; the origin does not matter to it (ACS
        // changes were written with their RPC, local ones are written by its `saveState`).
        let change = ManagementServerSettingsChange(previous: settingsInEffect, current: current, origin: .local,
                                                    changedParameters: current.changedParameters(comparedTo: settingsInEffect))
        settingsInEffect = current
        await settingsChanged(change)
    }

    private func settingsChanged(_ change: ManagementServerSettingsChange) async {
        guard started else { return }
        // A local change (configuration reload) is written here; an ACS change was written with its RPC already,
        // and then there is nothing left to write.
        await saveState(logger: logger)
        // The reset (`runPostSessionAction`) applied these settings itself, with BOOTSTRAP + BOOT; acting on them
        // again here (after the BOOTSTRAP session may have started) would raise a second BOOTSTRAP.
        guard change.origin != .factoryReset else { return }
        let now = environment.clock.now()
        var actions: [AgentStateMachine.Action] = []
        if change.connectionRequestChanged || change.previous.enableCWMP != change.current.enableCWMP {
            updateConnectionRequestCredentials(change.current)
        }
        if change.previous.httpConnectionRequestEnable != change.current.httpConnectionRequestEnable, connectionRequestPath != nil {
            // ConnectionRequestURL now reads "" (disabled) or the URL again: a value change of a parameter whose
            // Notification is active by default, so the ACS learns it (reaches `valueChangesRecorded`).
            await dataModel.recordValueChanges(["Device.ManagementServer.ConnectionRequestURL"])
        }
        if change.acsURLChanged, !change.current.url.isEmpty {
            logger.info("cwmp.agent.acs-url-changed")
            actions.append(machine.acsURLChanged(now: now))
            discardValueChanges()
        }
        if Self.sessionsAllowed(change.previous) != Self.sessionsAllowed(change.current) {
            logger.info("cwmp.agent.cwmp-enabled", metadata: ["cwmp.enabled": "\(Self.sessionsAllowed(change.current))"])
            actions.append(machine.setCWMPEnabled(Self.sessionsAllowed(change.current), now: now))
        }
        if change.periodicInformChanged {
            actions.append(machine.setPeriodicInform(Self.periodicSchedule(change.current, now: now), now: now))
        }
        if change.heartbeatPolicyChanged {
            actions.append(machine.setHeartbeatPolicy(Self.heartbeat(change.current, now: now), now: now))
        }
        if change.previous.defaultActiveNotificationThrottle != change.current.defaultActiveNotificationThrottle {
            actions.append(machine.setActiveNotificationThrottle(
                .seconds(change.current.defaultActiveNotificationThrottle), now: now))
        }
        if change.retryPolicyChanged {
            actions.append(machine.setRetryParameters(minimumWaitInterval: change.current.cwmpRetryMinimumWaitInterval,
                                                      intervalMultiplier: change.current.cwmpRetryIntervalMultiplier,
                                                      now: now))
        }
        // ACS credentials and InformParameters are read when they are used (next session, next Inform).
        await syncEvents()
        for action in actions { perform(action) }
    }

    /// EnableCWMP, and an ACS to talk to: otherwise no session is opened (which is not a failed session).
    static func sessionsAllowed(_ settings: ManagementServerSettings) -> Bool {
        settings.enableCWMP && !settings.url.isEmpty
    }

    static func periodicSchedule(_ settings: ManagementServerSettings, now: CWMPInstant) -> PeriodicInformSchedule? {
        guard settings.periodicInformEnable else { return nil }
        return PeriodicInformSchedule(enable: true, intervalSeconds: settings.periodicInformInterval,
                                      informTime: CWMPDateTime(rawValue: settings.periodicInformTime), countingFrom: now)
    }

    static func heartbeat(_ settings: ManagementServerSettings, now: CWMPInstant) -> CWMPClient.HeartbeatPolicy? {
        let policy = settings.heartbeatPolicy
        guard policy.enable else { return nil }
        return CWMPClient.HeartbeatPolicy(enable: true, reportingInterval: .seconds(Int64(policy.reportingInterval)),
                                          initiationTime: CWMPInstant(dateTime: CWMPDateTime(rawValue: policy.initiationTime)),
                                          countingFrom: now)
    }

    // MARK: - Actions

    private func perform(_ action: AgentStateMachine.Action) {
        switch action {
        case .startSession(let events, let retryCount, let pendingRequests):
            environment.timer.disarm(owner: ObjectIdentifier(self))
            Task { await self.runSessionTask(events: events, retryCount: retryCount, pendingRequests: pendingRequests) }
        case .armTimer(let deadline):
            environment.timer.arm(owner: ObjectIdentifier(self), deadline: deadline) { [weak self] in
                await self?.timerFired()
            }
        case .runPostSessionAction(let postSessionAction):
            Task { await self.runPostSessionAction(postSessionAction) }
        case .none:
            break
        }
    }

    private func timerFired() async {
        guard started else { return }
        let action = machine.timerFired(now: environment.clock.now())
        await syncEvents()
        perform(action)
    }

    // MARK: - Sessions

    /// What the session needs to acknowledge in the store once the ACS has the Inform.
    struct InformRecord {
        var highestSequence: Int64?
        var carriedBootstrap = false
        /// The value changes whose values the Inform carried, with their generation at that moment.
        var reportedValueChanges: [String: UInt64] = [:]
        var acsURL = ""
        /// The Inform read parameters beyond the fixed forced-inform ones (value changes, InformParameter rows):
        /// such a read may number instances, which must be saved before the ACS sees them.
        var readVariableParameters = false
        /// The session ran at least one ACS request (RPC).
        var ranACSRequests = false
        /// The ConnectionRequestURL the Inform carried (a forced-inform parameter).
        var connectionRequestURL: String?
    }

    private func runSessionTask(events: [EventStruct], retryCount: UInt32, pendingRequests: [CPERequest]) async {
        // The Inform's events come from one read of the store, and the acknowledgment goes up to the highest
        // sequence read (AgentStore's delivery rule). The read is made before the session waits for its turn at
        // the gate: a store call waits for the group commit's current batch, and inside the gate that wait held
        // one of the few session slots idle. Events appended meanwhile have higher sequence numbers and stay for
        // the next session; if events were discarded or acknowledged meanwhile (a BOOTSTRAP drops the old ACS's),
        // the read is made again inside the gate, so the Inform never carries an event the store dropped.
        await syncEvents()
        let removalsBefore = eventRemovals
        var pending = await readPendingEvents()
        await environment.sessionGate.acquire()
        if eventRemovals != removalsBefore {
            await syncEvents()
            pending = await readPendingEvents()
        }
        sessionCounter += 1
        var sessionLogger = logger
        sessionLogger[metadataKey: "cwmp.session.id"] = .string("\(agentID)/\(sessionCounter)")
        var record = InformRecord()
        let outcome = await runSession(events: events, pending: pending, retryCount: retryCount,
                                       pendingRequests: pendingRequests, record: &record, logger: sessionLogger)
        environment.sessionGate.release()
        guard let outcome else {
            // CWMP was disabled (or the URL emptied) after the machine decided: no session, no failure.
            sessionLogger.info("cwmp.session.not-opened")
            perform(machine.sessionNotOpened(now: environment.clock.now()))
            return
        }
        await sessionEnded(outcome, record: record, logger: sessionLogger)
    }

    private func readPendingEvents() async -> Result<[PendingEvent], ProxierError> {
        do throws(ProxierError) {
            return .success(try await environment.store.pendingEvents(of: agentID))
        } catch {
            return .failure(error)
        }
    }

    private func runSession(events expected: [EventStruct], pending read: Result<[PendingEvent], ProxierError>,
                            retryCount: UInt32, pendingRequests: [CPERequest],
                            record: inout InformRecord, logger: Logger) async -> SessionOutcome? {
        let settings = await managementServer.settings
        record.acsURL = settings.url
        var session = CWMPSessionStateMachine(configuration: configuration.session)
        // nil: not opened. The machine hears of the change from `settingsChanged` and waits for re-enabling.
        guard Self.sessionsAllowed(settings) else { return nil }

        // The events read before the gate (see runSessionTask). The state machine's own choice only says which kind.
        let pending: [PendingEvent]
        switch read {
        case .success(let events):
            pending = events
        case .failure(let error):
            logger.error("cwmp.session.store-unavailable", metadata: ["error": "\(error)"])
            return SessionOutcome(failure: .transportFailed("agent store unavailable"))
        }
        let heartbeatOnly = expected.count == 1 && expected[0].eventCode == EventCode.heartbeat
        var events = Self.informEvents(from: pending, heartbeatOnly: heartbeatOnly, record: &record)

        let taken = await dataModel.takeValueChanges()
        if !taken.isEmpty {
            mergeValueChanges(taken)
            // In the store before the Inform that reports them goes out.
            await syncEvents()
        }
        if !heartbeatOnly, !pendingValueChanges.isEmpty, !events.contains(where: { $0.eventCode == EventCode.valueChange }),
           events.count < EventQueue.maximumEventsPerInform {
            events.append(EventStruct(eventCode: EventCode.valueChange))
        }
        let parameterList = await informParameters(settings: settings, events: events,
                                                   includeValueChanges: !heartbeatOnly, record: &record)
        record.connectionRequestURL = parameterList
            .first { $0.name == "Device.ManagementServer.ConnectionRequestURL" }?.value
        // Reading the Inform's parameters may have numbered instances (an InformParameter naming a new row): the
        // ACS must never see a number the store does not hold. The forced-inform parameters alone are outside
        // every table and number nothing, so the save (two actor hops and a copy of the data model's state) is
        // skipped for them: that is every session of an agent whose InformParameter table is empty.
        if record.readVariableParameters { await saveState(logger: logger) }
        let now = environment.clock.now()
        let seconds = now.sinceUnixEpoch.components.seconds
        let currentTime = (try? CWMPDateTime(secondsSince1970: seconds)) ?? .unknown
        let inform = Inform(deviceId: configuration.deviceId, events: events, currentTime: currentTime,
                            retryCount: retryCount, parameterList: parameterList)
        logger.debug("cwmp.session.starting", metadata: [
            "cwmp.inform.events": "\(events.map(\.eventCode))", "cwmp.inform.retry-count": "\(retryCount)"])

        var action = session.start(inform: inform, pendingRequests: heartbeatOnly ? [] : pendingRequests)
        let credentials = settings.username.isEmpty && settings.password.isEmpty
            ? nil : HTTPCredentials(username: settings.username, password: settings.password)
        let connection: any ACSSession
        do {
            connection = try await environment.transport.openSession(url: settings.url, credentials: credentials)
        } catch {
            return finish(session.transportFailed(error)) ?? SessionOutcome(failure: .transportFailed("\(error)"))
        }
        defer { Task { await connection.close() } }

        let encoder = CWMPEncoder()
        let decoder = CWMPDecoder()
        let sessionClock = ContinuousClock()
        let sessionDeadline = sessionClock.now.advanced(by: configuration.sessionTimeLimit)
        while true {
            switch action {
            case .postEnvelope(let envelope, let waitTimeout):
                let body: [UInt8]
                do {
                    body = try encoder.encode(envelope)
                } catch {
                    logger.error("cwmp.session.encode-failed", metadata: ["error": "\(error)"])
                    action = session.transportFailed(error)
                    continue
                }
                action = await exchange(&session, connection: connection, body: body, waitTimeout: waitTimeout,
                                        deadline: sessionDeadline, clock: sessionClock, decoder: decoder)
            case .postEmpty(let waitTimeout):
                action = await exchange(&session, connection: connection, body: nil, waitTimeout: waitTimeout,
                                        deadline: sessionDeadline, clock: sessionClock, decoder: decoder)
            case .executeACSRequest(let request):
                record.ranACSRequests = true
                // Applied, then committed to the store before the response goes out (`committing`): a response
                // the store could not back is replaced by fault 9002 and the change is rolled back. A Reboot or
                // FactoryReset acts through the session's outcome (`postSessionAction`), a ScheduleInform is in
                // the agent's schedule once `committing` returns.
                let outcome = await committing(await dispatcher.respond(to: request, within: configuration.rpcBudget),
                                               logger: logger)
                logger.debug("cwmp.session.rpc", metadata: ["cwmp.rpc": "\(CWMPEncoder.rpcName(of: request))",
                                                            "cwmp.rpc.fault": "\(outcome.fault?.code.rawValue ?? 0)"])
                action = session.acsRequestHandled(outcome.response)
            case .finish(let outcome):
                return outcome
            case .none:
                // Only reachable through a bug in this loop; end the session instead of spinning.
                return SessionOutcome(failure: .protocolViolation("session stalled"))
            }
        }
    }

    private func finish(_ action: CWMPSessionStateMachine.Action) -> SessionOutcome? {
        if case .finish(let outcome) = action { return outcome }
        return nil
    }

    /// One POST and its answer, fed to the session machine.
    private func exchange(_ session: inout CWMPSessionStateMachine, connection: any ACSSession, body: [UInt8]?,
                          waitTimeout: Duration, deadline: ContinuousClock.Instant, clock: ContinuousClock,
                          decoder: CWMPDecoder) async -> CWMPSessionStateMachine.Action {
        let remaining = clock.now.duration(to: deadline)
        guard remaining > .zero else { return session.timeoutFired() }
        let response: ACSHTTPResponse
        do {
            response = try await connection.post(body: body, timeout: min(waitTimeout, remaining))
        } catch let error as ACSTransportError where error.kind == .timedOut {
            return session.timeoutFired()
        } catch {
            return session.transportFailed(error)
        }
        guard (200...299).contains(response.status), response.status != 204, !response.body.isEmpty else {
            return session.httpResponseReceived(statusCode: response.status, envelope: nil, retryAfter: response.retryAfter)
        }
        switch decoder.decodeOutcome(response.body) {
        case .envelope(let envelope):
            return session.httpResponseReceived(statusCode: response.status, envelope: envelope,
                                                retryAfter: response.retryAfter)
        case .failure(let failure):
            // The fault echoes the request's cwmp:ID (CWMPDecodingFailure carries the header read so far).
            return session.undecodableMessageReceived(statusCode: response.status, header: failure.header,
                                                      error: failure.error, retryAfter: response.retryAfter)
        }
    }

    /// Events for the Inform from one store read: merged as the EventQueue merges them (single codes once, `M`
    /// codes once per CommandKey), BOOTSTRAP and BOOT first, at most 64, taken as a prefix of the sequence order so
    /// that "acknowledge up to the highest" never covers an event that was left out.
    static func informEvents(from pending: [PendingEvent], heartbeatOnly: Bool,
                             record: inout InformRecord) -> [EventStruct] {
        var keys: Set<String> = []
        var chosen: [EventStruct] = []
        for event in pending.sorted(by: { $0.sequence < $1.sequence }) {
            guard (event.code == EventCode.heartbeat) == heartbeatOnly else { continue }
            let key = event.code.hasPrefix("M ") ? event.code + "\u{0}" + event.commandKey : event.code
            if !keys.contains(key) {
                guard chosen.count < EventQueue.maximumEventsPerInform else { break }
                keys.insert(key)
                chosen.append(EventStruct(eventCode: event.code, commandKey: event.code.hasPrefix("M ") ? event.commandKey : ""))
            }
            record.highestSequence = max(record.highestSequence ?? event.sequence, event.sequence)
            if event.code == EventCode.bootstrap { record.carriedBootstrap = true }
        }
        let framing = chosen.filter { $0.eventCode == EventCode.bootstrap || $0.eventCode == EventCode.boot }
            .sorted { $0.eventCode < $1.eventCode }
        return framing + chosen.filter { $0.eventCode != EventCode.bootstrap && $0.eventCode != EventCode.boot }
    }

    /// ParameterList: forced-inform parameters, changed parameters with Notification, and the enabled
    /// ManagementServer.InformParameter entries whose EventList is empty or names one of the Inform's events.
    private func informParameters(settings: ManagementServerSettings, events: [EventStruct], includeValueChanges: Bool,
                                  record: inout InformRecord) async -> [ParameterValueStruct] {
        var names = ForcedInformParameters.names(in: dataModel.tree)
        if includeValueChanges {
            names += pendingValueChanges.map(\.name)
            for change in pendingValueChanges {
                record.reportedValueChanges[change.name] = valueChangeGenerations[change.name] ?? 0
            }
            if !pendingValueChanges.isEmpty { record.readVariableParameters = true }
        }
        let codes = Set(events.map(\.eventCode))
        for row in settings.informParameters where row.enable && !row.parameterName.isEmpty {
            if row.eventList.isEmpty || row.eventList.contains(where: codes.contains) {
                names.append(row.parameterName)
                record.readVariableParameters = true
            }
        }
        var seen: Set<String> = []
        names = names.filter { seen.insert($0).inserted }
        if let values = try? await dataModel.getParameterValues(names) { return values }
        // One unreadable parameter (a vanished instance, a provider down) must not cost the whole Inform.
        var values: [ParameterValueStruct] = []
        for name in names {
            if let value = try? await dataModel.getParameterValues([name]) { values += value }
        }
        return values
    }

    private func mergeValueChanges(_ changes: [DataModel.ValueChange]) {
        for change in changes {
            valueChangeCounter += 1
            valueChangeGenerations[change.name] = valueChangeCounter
            if let index = pendingValueChanges.firstIndex(where: { $0.name == change.name }) {
                pendingValueChanges[index].notification = change.notification
            } else {
                pendingValueChanges.append(change)
            }
        }
    }

    /// The InformResponse acknowledged the Inform: the changes it reported are delivered, unless the parameter
    /// changed again after the Inform read its value.
    private func valueChangesDelivered(_ reported: [String: UInt64]) {
        guard !reported.isEmpty else { return }
        pendingValueChanges.removeAll { change in
            guard let generation = reported[change.name] else { return false }
            return (valueChangeGenerations[change.name] ?? 0) <= generation
        }
        let pending = Set(pendingValueChanges.map(\.name))
        for name in reported.keys where !pending.contains(name) { valueChangeGenerations[name] = nil }
    }

    /// A reboot, a factory reset or a new ACS URL: the changes are void. TR-069 discards `4 VALUE CHANGE` on a
    /// reboot and at BOOTSTRAP (cwmp.md §5, `EventQueue.rebooted` / `acsURLChanged`), and Table 7 says of that
    /// event that when it is discarded the changed parameters go with it (docs/agent-events.md).
    private func discardValueChanges() {
        pendingValueChanges = []
        valueChangeGenerations = [:]
    }

    private func sessionEnded(_ outcome: SessionOutcome, record: InformRecord, logger: Logger) async {
        let now = environment.clock.now()
        if outcome.succeeded {
            logger.info("cwmp.session.ended")
        } else {
            logger.warning("cwmp.session.failed", metadata: ["cwmp.session.failure": "\(outcome.failure!)"])
        }
        // A URL the ACS set in this session is acted on (BOOTSTRAP raised) before the machine picks the next one.
        await catchUpWithSettings()
        // The session's ScheduleInforms are in the machine already (`committing`): its timer covers them.
        let action = machine.sessionEnded(outcome, now: now, using: &generator)

        var changes: [AgentChange] = []
        var acknowledged: Int64? = nil
        if outcome.informAcknowledged {
            if let highest = record.highestSequence {
                changes.append(.acknowledgeEvents(upTo: highest))
                acknowledged = highest
            }
            if record.carriedBootstrap { changes.append(.setBootstrappedACSURL(record.acsURL)) }
            if let url = record.connectionRequestURL, url != reportedConnectionRequestURL {
                changes.append(.setValue(path: Self.reportedConnectionRequestURLKey, StoredParameterValue(value: url)))
                reportedConnectionRequestURL = url
            }
            valueChangesDelivered(record.reportedValueChanges)
        }
        let retryCount = Int(machine.retryPolicy.retryCount)
        // RetryCount is 0 after almost every session and stays so: writing it unchanged cost a statement each time.
        if retryCount != persistedRetryCount { changes.append(.setRetryCount(retryCount)) }
        // The acknowledgment, the removal of the requests the ACS answered and the re-queueing of what the Inform
        // did not deliver (completion events, a heartbeat below the highest sequence) are one transaction: a crash
        // between them cannot lose an event, nor send a request the ACS answered again.
        let finished = outcome.deliveredRequests + outcome.rejectedRequests.map(\.request)
        if await syncEvents(prefix: changes, acknowledgedUpTo: acknowledged, removingRequests: finished, logger: logger) {
            persistedRetryCount = retryCount
        }
        // An RPC abandoned at its deadline may have changed the state after its fault was sent. Without an RPC
        // the session changed no persistent state (local settings changes are saved by `settingsChanged`).
        if record.ranACSRequests { await saveState(logger: logger) }
        // Counted once the outcome is persisted, so an observer that sees the count sees the store updated too.
        sessionsEnded += 1
        lastOutcome = outcome
        perform(action)
    }

    private func runPostSessionAction(_ action: PostSessionAction) async {
        let now = environment.clock.now()
        switch action {
        case .reboot(let commandKey):
            // The events that report the reboot are persisted before the "reboot", as on a real CPE.
            _ = await dataModel.takeValueChanges()
            discardValueChanges()
            let next = machine.rebooted(now: now, rebootCommandKey: commandKey)
            await syncEvents()
            logger.info("cwmp.agent.rebooting")
            await hooks.reboot(agentID, commandKey)
            perform(next)
        case .factoryReset:
            // TR-069 FactoryReset (cwmp.md §3, A.4.1): the CPE goes back to its factory state and its next session is
            // `0 BOOTSTRAP` (+ `1 BOOT`). Here the factory state is the configuration: the ManagementServer values
            // the ACS set (URL, credentials, PeriodicInform*, CWMPRetry*, HeartbeatPolicy, InformParameter rows, …)
            // go back to the configured ones and leave the store, as do ParameterKey, every attribute the ACS set,
            // pending events, CPE requests and scheduled informs.
            //
            // Everything in the data model's state goes but the tables' counters: an instance number the ACS has
            // seen is never handed out again, not even after a factory reset (its instances are renumbered from the
            // counters on).
            // The reset applies the restored settings itself (below); a catch-up entering the actor while it waits
            // on the settings must not act on them as a change (a second BOOTSTRAP, without BOOT).
            resettingToFactoryDefaults = true
            await managementServer.resetToFactoryDefaults()
            var storedSettings: [AgentChange] = []
            do {
                let stored = try await environment.store.load(agentID)?.parameterValues ?? [:]
                storedSettings = stored.keys.filter(ManagementServerSettings.isSettingsPath).sorted()
                    .map { AgentChange.removeValue(path: $0) }
            } catch {
                logger.error("cwmp.agent.factory-reset-store-unreadable", metadata: ["error": "\(error)"])
            }
            var reset = DataModelState()
            // Only tables outside any instance: every instance is renumbered, so the sub-tables of the old
            // numbers can never be reached again.
            for (table, tableState) in await dataModel.exportState().tables
            where !table.split(separator: ".").contains(where: { $0.allSatisfy(\.isNumber) }) {
                reset.tables[table] = TableState(nextInstanceNumber: tableState.nextInstanceNumber)
            }
            await dataModel.importState(reset)
            _ = await dataModel.takeValueChanges()
            discardValueChanges()
            // The configured settings take effect before the machine leaves the reset (its BOOTSTRAP session uses
            // them); until `factoryResetDone` these inputs only record.
            let settings = await managementServer.settings
            // Acted on here: the settings catch-up (`catchUpWithSettings`, at a session's end or from the change
            // stream) must not see the restored values as a change and raise a second BOOTSTRAP.
            settingsInEffect = settings
            resettingToFactoryDefaults = false
            updateConnectionRequestCredentials(settings)
            _ = machine.setCWMPEnabled(Self.sessionsAllowed(settings), now: now)
            _ = machine.setPeriodicInform(Self.periodicSchedule(settings, now: now), now: now)
            _ = machine.setHeartbeatPolicy(Self.heartbeat(settings, now: now), now: now)
            _ = machine.setActiveNotificationThrottle(.seconds(settings.defaultActiveNotificationThrottle), now: now)
            _ = machine.setRetryParameters(minimumWaitInterval: settings.cwmpRetryMinimumWaitInterval,
                                           intervalMultiplier: settings.cwmpRetryIntervalMultiplier, now: now)
            let next = machine.factoryResetDone(now: now)
            await syncEvents(prefix: [.setParameterKey(""), .setBootstrappedACSURL(nil)] + storedSettings,
                             acknowledgedUpTo: nil, removingAllRequests: true, logger: logger)
            await saveState(logger: logger)
            logger.info("cwmp.agent.factory-reset")
            await hooks.factoryReset(agentID)
            perform(next)
        }
    }

    // MARK: - Persistence

    /// Makes the store's pending events equal to the event queue (as multisets of code + CommandKey), after
    /// `prefix` in the same transaction. The store can only discard by code, so a code whose events differ other
    /// than by additions is discarded and rewritten.
    ///
    /// CPE requests are added and removed in the same transaction (`adding`: the request and its stored form;
    /// `removingRequests`: requests the ACS answered). Both are matched with their store ids under the sync gate,
    /// so a request added by one sync is known to the next. `schedulingInforms`: ScheduleInform items written as if
    /// the machine held them already; the caller adds them to the machine once this returns true (with no await in
    /// between, so no other sync diffs against a mirror that has them and a machine that does not).
    /// Returns whether the transaction committed.
    @discardableResult
    private func syncEvents(prefix: [AgentChange] = [], acknowledgedUpTo: Int64? = nil,
                            schedulingInforms: [ScheduledInforms.Item] = [],
                            adding addedRequest: (CPERequest, PendingCPERequest)? = nil,
                            removingRequests: [CPERequest] = [], removingAllRequests: Bool = false,
                            logger: Logger? = nil) async -> Bool {
        // One sync at a time: the actor is re-entrant at the store's await, and two diffs computed against the
        // same mirror would each overwrite the other's result.
        while isSyncing {
            await withCheckedContinuation { syncWaiters.append($0) }
        }
        isSyncing = true
        defer {
            isSyncing = false
            if !syncWaiters.isEmpty { syncWaiters.removeFirst().resume() }
        }
        var persisted = persistedEvents
        if let acknowledgedUpTo { persisted.removeAll { $0.sequence <= acknowledgedUpTo } }
        let queue = machine.eventQueue.records
        var changes = prefix
        // Value changes go in the same transaction as the events: the acknowledgment of an Inform removes both.
        var wantedValueChanges: [String: Int] = [:]
        for change in pendingValueChanges { wantedValueChanges[change.name] = change.notification.rawValue }
        if wantedValueChanges != persistedValueChanges {
            for (path, notification) in wantedValueChanges.sorted(by: { $0.key < $1.key })
            where persistedValueChanges[path] != notification {
                changes.append(.setValueChange(path: path, notification: notification))
            }
            for path in persistedValueChanges.keys.sorted() where wantedValueChanges[path] == nil {
                changes.append(.removeValueChange(path: path))
            }
        }
        // Scheduled informs likewise: one that fell due leaves the store in the transaction that appends its events.
        let wantedScheduledInforms = (machine.scheduledInforms.items + schedulingInforms).map {
            let (seconds, attoseconds) = $0.due.sinceUnixEpoch.components
            return StoredScheduledInform(dueMilliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000,
                                         commandKey: $0.commandKey)
        }
        if wantedScheduledInforms != persistedScheduledInforms {
            var stale = persistedScheduledInforms
            var added: [StoredScheduledInform] = []
            for item in wantedScheduledInforms {
                if let index = stale.firstIndex(of: item) { stale.remove(at: index) } else { added.append(item) }
            }
            changes += stale.map { .removeScheduledInform($0) } + added.map { .addScheduledInform($0) }
        }
        var requests = persistedRequests
        if removingAllRequests {
            changes += requests.map { .removeRequest(id: $0.id) }
            requests = []
        }
        for request in removingRequests {
            guard let index = requests.firstIndex(where: { $0.request == request }) else { continue }
            changes.append(.removeRequest(id: requests.remove(at: index).id))
        }
        if let addedRequest { changes.append(.addRequest(addedRequest.1)) }
        var discarded: Set<String> = []
        var appended: [(code: String, commandKey: String)] = []
        let codes = Set(persisted.map(\.code)).union(queue.map(\.eventCode))
        for code in codes.sorted() {
            let have = persisted.filter { $0.code == code }.map(\.commandKey).sorted()
            let want = queue.filter { $0.eventCode == code }.map(\.commandKey).sorted()
            if have == want { continue }
            var missing = want
            var isSuperset = true
            for key in have {
                if let index = missing.firstIndex(of: key) { missing.remove(at: index) } else { isSuperset = false }
            }
            if isSuperset {
                appended += missing.map { (code, $0) }
            } else {
                discarded.insert(code)
                appended += want.map { (code, $0) }
            }
        }
        if !discarded.isEmpty { changes.append(.discardEvents(codes: discarded)) }
        // In queue order, so the store's sequence order matches the order the events arose in.
        let ordered = queue.compactMap { record -> (String, String)? in
            guard let index = appended.firstIndex(where: { $0.code == record.eventCode && $0.commandKey == record.commandKey })
            else { return nil }
            let entry = appended.remove(at: index)
            return (entry.code, entry.commandKey)
        }
        changes += ordered.map { AgentChange.appendEvent(code: $0.0, commandKey: $0.1) }
        guard !changes.isEmpty else {
            persistedEvents = persisted
            return true
        }
        do {
            let applied = try await environment.store.apply(changes, to: agentID)
            if changes.contains(where: { change in
                switch change {
                case .acknowledgeEvents, .discardEvents: true
                default: false
                }
            }) {
                eventRemovals &+= 1
            }
            persisted.removeAll { discarded.contains($0.code) }
            for (sequence, entry) in zip(applied.eventSequences, ordered) {
                persisted.append(PendingEvent(sequence: sequence, code: entry.0, commandKey: entry.1))
            }
            persistedEvents = persisted
            persistedValueChanges = wantedValueChanges
            persistedScheduledInforms = wantedScheduledInforms
            if let addedRequest, let id = applied.requestIDs.first {
                requests.append(PersistedRequest(id: id, request: addedRequest.0))
            }
            persistedRequests = requests
            return true
        } catch {
            // Nothing was applied: the mirror stays as it was, so the next sync tries the same changes again.
            (logger ?? self.logger).error("cwmp.agent.store-write-failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Writes, in one transaction, what changed in the data model's persistent state (ParameterKey, attributes,
    /// instance numbers, keys and aliases) and the ManagementServer settings changes not yet in the store.
    /// One save at a time, so settings changes reach the store in the order they were made. On failure nothing is
    /// marked saved and the next save writes it all again; the error is returned (nil: saved, or nothing to save).
    @discardableResult
    private func saveState(logger: Logger) async -> ProxierError? {
        while isSaving {
            await withCheckedContinuation { saveWaiters.append($0) }
        }
        isSaving = true
        defer {
            isSaving = false
            if !saveWaiters.isEmpty { saveWaiters.removeFirst().resume() }
        }
        let settingsChanges = await managementServer.unpersistedChanges
        let state = await dataModel.exportState()
        var changes: [AgentChange] = []
        for change in settingsChanges { changes += ManagementServerSettings.storeChanges(for: change) }
        changes += state.storeChanges(since: savedState)
        do throws(ProxierError) {
            if !changes.isEmpty { _ = try await environment.store.apply(changes, to: agentID) }
            savedState = state
            if !settingsChanges.isEmpty { await managementServer.acknowledgePersisted(settingsChanges.count) }
            return nil
        } catch {
            logger.error("cwmp.agent.state-not-saved", metadata: ["error": "\(error)"])
            return error
        }
    }

    // MARK: - Committing an RPC

    /// Writes what the RPC `outcome` changed (instance numbers, aliases, attributes, ParameterKey, the
    /// ManagementServer values it set) in one transaction, before its response goes out; the one place that decides
    /// what an RPC whose changes cannot be stored answers.
    ///
    /// TR-069 Status 0 of SetParameterValues, AddObject and DeleteObject means "applied and committed" (cwmp.md §3.3),
    /// and ManagementServer.ParameterKey MUST change if and only if the method completes successfully; if it does not
    /// complete, its changes did not take effect and ParameterKey MUST NOT be modified (TR-181 ParameterKey ✔). A
    /// change the store refused would be lost by the next restart, so it is not committed: the RPC answers
    /// 9002 Internal error, and the data model's state and the ManagementServer values go back to what the store
    /// holds. Saved after every RPC, not only on `.saveDataModelState`: a SetParameterValues of a ManagementServer
    /// value with an unchanged ParameterKey changes no data-model state. A failed save that does not concern this
    /// RPC (an older local change) leaves its response as it is.
    ///
    /// A ScheduleInform is stored here too, after the state (`committingScheduledInforms`).
    ///
    /// Not undone: values a provider already wrote to a proxied device (an SNMP SET, a UPnP DM SetValues): the
    /// device holds those, not the store; see docs/agent-events.md.
    private func committing(_ outcome: CPEMethodOutcome, logger: Logger) async -> CPEMethodOutcome {
        guard let error = await saveState(logger: logger) else {
            return await committingScheduledInforms(outcome, logger: logger)
        }
        let settingsChanged = await managementServer.unpersistedChanges.contains { $0.origin == .acs }
        guard outcome.followUps.contains(.saveDataModelState) || settingsChanged else {
            return await committingScheduledInforms(outcome, logger: logger)
        }
        await dataModel.importState(savedState)
        await managementServer.rollBackUnpersistedACSChanges()
        logger.error("cwmp.session.rpc-rolled-back", metadata: ["error": "\(error)"])
        let failure = ProxierError(.storeFailure, "the changes could not be stored", underlying: error)
        // Follow-ups (a reboot, a scheduled inform) belong to an RPC that completed; this one did not.
        return CPEMethodOutcome(response: .fault(CWMPFault(converting: failure)))
    }

    /// The RPC's data-model changes are stored (`committing`); now its ScheduleInforms. Each is written before its
    /// ScheduleInformResponse goes out, so a `kill -9` at any later moment of the session (or before its end is
    /// recorded) loses no accepted ScheduleInform; after a restart `3 SCHEDULED` + `M ScheduleInform` come when it
    /// is due. The row leaves the store in the transaction that appends those events (`syncEvents`). The delay
    /// counts from the call (TR-069 A.4.1.4: "from the time this method is called"), not from the session's end.
    /// One the store refuses is not accepted: 9002, and the agent's schedule stays without it.
    private func committingScheduledInforms(_ outcome: CPEMethodOutcome, logger: Logger) async -> CPEMethodOutcome {
        let requests = outcome.followUps.compactMap { followUp -> ScheduleInform? in
            guard case .scheduleInform(let delay, let commandKey) = followUp else { return nil }
            return ScheduleInform(delaySeconds: UInt32(clamping: delay.components.seconds), commandKey: commandKey)
        }
        guard !requests.isEmpty else { return outcome }
        let now = environment.clock.now()
        // The items exactly as `AgentStateMachine.scheduleInform` will hold them (same instant, same order).
        var scheduled = ScheduledInforms()
        for request in requests { scheduled.schedule(request, now: now) }
        guard await syncEvents(schedulingInforms: scheduled.items, logger: logger) else {
            logger.error("cwmp.session.rpc-rolled-back")
            let failure = ProxierError(.storeFailure, "the scheduled inform could not be stored")
            return CPEMethodOutcome(response: .fault(CWMPFault(converting: failure)))
        }
        for request in requests {
            // In a session the machine only records it (`.none`); its timer is armed when the session ends.
            perform(machine.scheduleInform(request, now: now))
        }
        return outcome
    }

    // MARK: - CPE requests

    /// A CPE request and the id the store gave it.
    private struct PersistedRequest: Sendable {
        var id: Int64
        var request: CPERequest
    }

    /// A transfer or Deployment Unit change finished: the agent owes the ACS `request` (TransferComplete,
    /// AutonomousTransferComplete, DUStateChangeComplete, …), announced by `events` in the next Inform
    /// (`7 TRANSFER COMPLETE` + `M Download` with the CommandKey, …).
    ///
    /// The request and its events are written in one transaction before the agent acts on them, so a `kill -9`
    /// at any moment after this returns loses neither; after a restart they are sent in the first session. The
    /// request leaves the store in the transaction that records the session's end after the ACS answered it
    /// (so a crash in that one commit's window sends it once more, as for events). `transferID` names the
    /// `PendingTransfer` the request reports; it is removed together with the request.
    ///
    /// Throws when the request cannot be encoded or stored; it is then still sent if the process lives.
    ///
    /// An AutonomousTransferComplete that `ManagementServer.AutonomousTransferCompletePolicy` excludes (Enable false,
    /// or a transfer type, result or file type its filters do not name) is not queued and returns false: TR-181
    /// says such transfers "MUST NOT be included" when the CPE notifies the ACS.
    @discardableResult
    public func queueRequest(_ request: CPERequest, events: [EventStruct], transferID: Int64? = nil) async throws -> Bool {
        // Before `start` the state machine is still to be rebuilt from the store and would drop it.
        guard started else { throw ProxierError(.requestDenied, "the agent \(agentID) is not started") }
        if case .autonomousTransferComplete(let transfer) = request,
           !(await managementServer.settings).autonomousTransferCompletePolicy.includes(transfer) {
            logger.info("cwmp.agent.autonomous-transfer-not-reported", metadata: ["cwmp.transfer.file-type": "\(transfer.fileType)"])
            return false
        }
        let stored = try request.persisted(transferID: transferID)
        let action = machine.requestQueued(request, events: events, now: environment.clock.now())
        let committed = await syncEvents(adding: (request, stored))
        // Performed either way: a session the machine decided to start must start, or it would wait forever.
        perform(action)
        guard committed else { throw ProxierError(.storeFailure, "the \(stored.method) request could not be stored") }
        return true
    }

    /// The CPE requests the agent still owes the ACS, oldest first (for diagnostics and tests).
    public var pendingRequests: [CPERequest] { machine.pendingRequests }

    // MARK: - Transfers

    /// Records a Download or Upload the agent accepted (before its TransferResponse goes out), so that after a
    /// restart it can be resumed or reported as failed; returns its id for `updateTransfer` and for
    /// `queueRequest(_:events:transferID:)`, which removes it once the ACS has the TransferComplete.
    public func recordTransfer(_ transfer: PendingTransfer) async throws -> Int64 {
        try await environment.store.apply([.addTransfer(transfer)], to: agentID).transferIDs[0]
    }

    /// A recorded transfer moved on (started, finished with a fault code…).
    public func updateTransfer(id: Int64, _ transfer: PendingTransfer) async throws {
        try await environment.store.apply([.updateTransfer(id: id, transfer)], to: agentID)
    }

    /// The transfers recorded and not yet reported to the ACS, oldest first: after a restart, what the agent's
    /// transfer actions resume (GetAllQueuedTransfers lists them too).
    public func pendingTransfers() async throws -> [StoredTransfer] {
        try await environment.store.load(agentID)?.transfers ?? []
    }
}

/// The agent methods every agent supports without transfers: Reboot, FactoryReset and ScheduleInform act through
/// the session's follow-ups, which `CWMPAgent` carries out.
public struct RebootCapableActions: CWMPAgentActions {
    public init() {}
    public var supportedMethods: Set<CPEMethod> { [.reboot, .factoryReset, .scheduleInform] }
}

/// The parameters the schema marks `forcedInform` and that are not inside a table, per schema (computed once).
enum ForcedInformParameters {
    private static let cache = Mutex<[ObjectIdentifier: [String]]>([:])

    static func names(in tree: SchemaTree) -> [String] {
        let key = ObjectIdentifier(tree)
        if let names = cache.withLock({ $0[key] }) { return names }
        var names: [String] = []
        for object in tree.schema.objects.values where !object.path.contains("{i}") {
            for parameter in object.parameters where parameter.forcedInform {
                names.append(object.path + parameter.name)
            }
        }
        names.sort()
        cache.withLock { $0[key] = names }
        return names
    }
}
