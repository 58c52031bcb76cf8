import FoundationEssentials
import Logging
import Proxier
import ServiceLifecycle
import UnixSignals

/// SIGHUP: read the configuration again and apply what changed in it since the last load (`ConfigurationReload`):
/// ManagementServer keys as one local change of the gateway's settings (values the ACS set to keys the file did
/// not change stay), the CA bundle for new ACS sessions, the log level. Keys read only at start are logged as
/// needing a restart. A file that does not load, or a value the settings refuse, changes nothing: the daemon runs
/// on as before, and the next SIGHUP compares against the last configuration that did load.
struct ConfigurationReloadService: Service {
    let gateway: GatewayDataModel
    let transport: ReloadableACSTransport
    /// The level every logger of the daemon follows (`DaemonLogHandler`).
    let logLevel: LogLevelSwitch
    /// The configuration the daemon started with.
    let started: ProxyConfiguration
    let reload: @Sendable () throws -> ProxyConfiguration
    let logger: Logger

    func run() async throws {
        var loaded = started
        var loadedBundle = Self.contents(of: started.acs.caBundlePath)
        // The handler is installed when the sequence is made: from here on SIGHUP no longer kills the process.
        let signals = await UnixSignalsSequence(trapping: .sighup)
        logger.debug("configuration reload armed")
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                let next = try reload()
                let bundle = Self.contents(of: next.acs.caBundlePath)
                let plan = ConfigurationReload.plan(loaded: loaded, running: started, next: next,
                                                    caBundleFileChanged: bundle != loadedBundle)
                try await apply(plan, next)
                loaded = next
                loadedBundle = bundle
                logger.notice("configuration reloaded", metadata: [
                    "config.keys.applied": .string(plan.appliedKeys.joined(separator: ",")),
                ])
                if !plan.needsRestart.isEmpty {
                    logger.warning("configuration change needs a restart", metadata: [
                        "config.keys.restart": .string(plan.needsRestart.joined(separator: ",")),
                    ])
                }
            } catch let error as ConfigurationError {
                // The key and the problem, never a value: configuration errors carry no secrets.
                logger.error("configuration reload failed", metadata: [
                    "config.key": .string(error.key), "config.problem": .string(error.problem),
                ])
            } catch {
                logger.error("configuration reload failed", metadata: ["error": .string(String(describing: error))])
            }
        }
    }

    /// A CA bundle file's bytes (nil: none configured, or unreadable; then building the transport says why).
    private static func contents(of path: String?) -> Data? {
        path.flatMap { try? Data(contentsOf: URL(filePath: $0)) }
    }

    /// What can fail comes first (the CA bundle is read), and a refused ManagementServer change (`update`
    /// validates) puts the log level back, so a refused reload leaves every part as it was. The level is set before
    /// the settings change so that what the agent logs about that change already follows it.
    private func apply(_ plan: ConfigurationReloadPlan, _ next: ProxyConfiguration) async throws {
        let newTransport = plan.caBundleChanged
            ? try ReloadableACSTransport.make(caBundlePath: next.acs.caBundlePath, logger: logger) : nil
        let previousLevel = logLevel.current
        if plan.logLevelChanged { logLevel.current = next.logLevel }
        if !plan.managementServerKeys.isEmpty {
            let configured = managementServerSettings(next)
            let keys = plan.managementServerKeys
            do {
                try await gateway.managementServer.update { current in
                    ConfigurationReload.apply(keys, of: configured, to: &current)
                }
            } catch {
                logLevel.current = previousLevel
                // The settings' reason names the ManagementServer parameter; the keys say which lines to look at.
                throw ConfigurationError(key: keys.joined(separator: ","),
                                         problem: "refused by Device.ManagementServer (\(error.reason))")
            }
        }
        // What a FactoryReset restores follows the configuration file as it is now (i3-agent's rule), once the
        // reload was accepted.
        try await gateway.managementServer.setFactoryDefaults(managementServerSettings(next))
        if let newTransport { transport.replace(with: newTransport) }
    }
}
