// Many agents in one process on shared resources (TR-069 Annex J.2 virtual devices plus the gateway): one
// store read at start-up, one timer, one session gate, one transport, one Connection Request listener.
import CWMPClient
import Logging
import Synchronization

/// Runs a set of `CWMPAgent`s. Agents are made by the caller (each with its own data model) through `AgentSetup`.
public final class AgentHost: Sendable {
    public struct Configuration: Sendable {
        /// Sessions at once across all agents.
        public var maximumConcurrentSessions: Int
        public init(maximumConcurrentSessions: Int = 64) {
            self.maximumConcurrentSessions = maximumConcurrentSessions
        }
    }

    /// How to make one agent once the store has been read.
    public struct AgentSetup: Sendable {
        public var agentID: String
        public var make: @Sendable (AgentEnvironment) async throws -> CWMPAgent
        public init(agentID: String, make: @escaping @Sendable (AgentEnvironment) async throws -> CWMPAgent) {
            self.agentID = agentID
            self.make = make
        }
    }

    public let environment: AgentEnvironment
    private let agents = Mutex<[String: CWMPAgent]>([:])

    public init(configuration: Configuration = Configuration(), store: AgentStore, transport: any ACSTransport,
                clock: any AgentClock = SystemAgentClock(), connectionRequestServer: ConnectionRequestServer? = nil,
                connectionRequestHost: String = "127.0.0.1", connectionRequestPort: Int = 7547,
                logger: Logger = Logger(label: "cwmp-proxy.agent")) {
        environment = AgentEnvironment(
            store: store, transport: transport, clock: clock, timer: AgentTimer(clock: clock),
            sessionGate: SessionGate(limit: configuration.maximumConcurrentSessions),
            connectionRequestServer: connectionRequestServer, connectionRequestHost: connectionRequestHost,
            connectionRequestPort: connectionRequestPort, logger: logger)
    }

    /// Creates and starts the agents, restoring each from one `loadAll()` of the store. Each agent's first
    /// session waits its InformJitter slot, so N agents started together spread over the jitter window.
    @discardableResult
    public func start(_ setups: [AgentSetup]) async throws -> [CWMPAgent] {
        let snapshots = try await environment.store.loadAll()
        var started: [CWMPAgent] = []
        started.reserveCapacity(setups.count)
        for setup in setups {
            let agent = try await setup.make(environment)
            if snapshots[setup.agentID] == nil { try await environment.store.createAgent(setup.agentID) }
            try await agent.start(snapshot: snapshots[setup.agentID] ?? AgentSnapshot(agentID: setup.agentID))
            agents.withLock { $0[setup.agentID] = agent }
            started.append(agent)
        }
        return started
    }

    public func agent(_ agentID: String) -> CWMPAgent? { agents.withLock { $0[agentID] } }

    public var agentCount: Int { agents.withLock { $0.count } }

    /// Stops every agent and the timer. Sessions under way finish on their own (each is bounded).
    public func stop() async {
        let all = agents.withLock { state -> [CWMPAgent] in
            defer { state = [:] }
            return Array(state.values)
        }
        for agent in all { await agent.stop() }
        environment.timer.stop()
    }
}
