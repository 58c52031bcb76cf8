// The Reboot and FactoryReset hooks as configured commands. The agent itself only restarts its CWMP state (BOOT,
// BOOTSTRAP, the reset of what the ACS set); what a reboot means for the host or a proxied device is the operator's
// choice, so the daemon runs a command the configuration names (`gateway.rebootCommand`,
// `gateway.factoryResetCommand`) and by default runs nothing: it never reboots the host on its own.
//
// The command is an argument vector run without a shell (no quoting or injection issues), with stdin from
// /dev/null and the daemon's stdout/stderr, and the environment plus CWMP_HOOK, CWMP_AGENT_ID and (Reboot)
// CWMP_COMMAND_KEY. The wait is bounded: after `timeout` the command is killed (SIGKILL).
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A command run for a hook: `arguments[0]` is looked up in PATH.
public struct HookCommand: Sendable, Hashable {
    public var arguments: [String]
    public var timeout: Duration

    public init(_ arguments: [String], timeout: Duration = .seconds(60)) {
        self.arguments = arguments
        self.timeout = timeout
    }

    /// How a run ended.
    public enum Termination: Hashable, Sendable {
        case exited(Int32)
        case signalled(Int32)
        /// Killed after `timeout`.
        case timedOut
        /// Not started (no such program, no arguments); the errno.
        case notStarted(Int32)
    }

    /// Runs the command with `environment` added to the process's, and waits for it (bounded by `timeout`).
    public func run(environment: [String: String]) async -> Termination {
        guard let program = arguments.first, !program.isEmpty else { return .notStarted(EINVAL) }
        var inherited: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            let name = text.prefix { $0 != "=" }
            if environment[String(name)] == nil { inherited.append(text) }
            entry += 1
        }
        let environmentStrings = inherited + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environmentStrings.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // The child starts with no blocked signal and every signal at its default action: the daemon's own mask
        // and ignored signals (SIGPIPE under SwiftNIO) are no business of a reboot script.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard spawned == 0 else { return .notStarted(spawned) }

        // In a task of its own, which a cancelled caller (shutdown) does not cancel: the child is still waited for
        // (bounded by the timeout), so no zombie is left and the poll never spins on a cancelled sleep.
        let timeout = self.timeout
        return await Task { await Self.wait(for: pid, timeout: timeout) }.value
    }

    /// Polled with WNOHANG rather than a blocking waitpid: no thread of the cooperative pool is held for the
    /// command's whole run (a reboot script may take its time).
    private static func wait(for pid: pid_t, timeout: Duration) async -> Termination {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return termination(status) }
            if result < 0, errno != EINTR { return .notStarted(errno) }
            if clock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return .timedOut
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The wait status decoded (WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import).
    static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }
}

extension AgentHooks {
    /// Hooks that run `reboot` / `factoryReset` when configured, and only log otherwise. The agent has already
    /// persisted the events that report the reboot or reset when the hook runs, so a command that really restarts
    /// the host (or this process) loses nothing.
    public static func commands(reboot: HookCommand?, factoryReset: HookCommand?, logger: Logger) -> AgentHooks {
        AgentHooks(
            reboot: { agentID, commandKey in
                await runHook(reboot, name: "reboot", environment: ["CWMP_AGENT_ID": agentID, "CWMP_COMMAND_KEY": commandKey],
                              agentID: agentID, logger: logger)
            },
            factoryReset: { agentID in
                await runHook(factoryReset, name: "factory-reset", environment: ["CWMP_AGENT_ID": agentID],
                              agentID: agentID, logger: logger)
            })
    }

    private static func runHook(_ command: HookCommand?, name: String, environment: [String: String], agentID: String,
                                logger: Logger) async {
        var logger = logger
        logger[metadataKey: "device.id"] = .string(agentID)
        logger[metadataKey: "cwmp.hook"] = .string(name)
        guard let command else {
            logger.info("cwmp.hook.none-configured")
            return
        }
        var environment = environment
        environment["CWMP_HOOK"] = name
        let termination = await command.run(environment: environment)
        switch termination {
        case .exited(0):
            logger.info("cwmp.hook.done")
        default:
            logger.error("cwmp.hook.failed", metadata: ["cwmp.hook.termination": "\(termination)"])
        }
    }
}
