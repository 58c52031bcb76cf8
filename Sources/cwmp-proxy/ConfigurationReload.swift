// What a SIGHUP reload changes, as a pure function of three configurations: the one last loaded, the one the
// daemon started with, and the one just read. Only keys whose value in the file (with the flags on top, which win
// and so never change) differs from the last load are applied: a value the ACS set with SetParameterValues is the
// gateway's current value, and a reload of a file that did not touch that key must leave it alone (reapplying the
// whole file would send the gateway back to the old ACS URL and bootstrap there).
import CWMPClient
import Logging
import Proxier

/// One configuration key as a reload sees it: its name (as in docs/configuration.md and in errors), how to tell
/// whether two configurations differ in it, and what a change does.
struct ReloadableKey {
    enum Effect {
        /// A ManagementServer setting: the newly configured value replaces the current one, as a local change of
        /// `Device.ManagementServer.` (the agent reacts as to any change: a new URL → `0 BOOTSTRAP`).
        case managementServer((inout ManagementServerSettings, ManagementServerSettings) -> Void)
        /// The CA bundle: new ACS sessions verify against it; a running session keeps its connection.
        case caBundle
        /// The process's log level.
        case logLevel
        /// Read only at start (sockets bound, identity in every Inform, the store opened): needs a restart.
        case restart
    }

    let name: String
    let differs: (ProxyConfiguration, ProxyConfiguration) -> Bool
    let effect: Effect

    init<Value: Equatable>(_ name: String, _ path: KeyPath<ProxyConfiguration, Value>, _ effect: Effect) {
        self.name = name
        self.differs = { $0[keyPath: path] != $1[keyPath: path] }
        self.effect = effect
    }
}

/// What one reload does. Plain data, so tests compare it whole.
struct ConfigurationReloadPlan: Equatable, Sendable {
    /// ManagementServer keys whose configured value changed since the last load; applied together as one change.
    var managementServerKeys: [String] = []
    /// `acs.caBundle` changed since the last load.
    var caBundleChanged = false
    /// `logLevel` changed since the last load.
    var logLevelChanged = false
    /// Keys that changed since the last load, are read only at start, and differ from the value the daemon runs
    /// with (a key changed and then changed back needs nothing).
    var needsRestart: [String] = []

    /// Every key the reload applies, in the table's order.
    var appliedKeys: [String] {
        managementServerKeys + (caBundleChanged ? ["acs.caBundle"] : []) + (logLevelChanged ? ["logLevel"] : [])
    }
}

enum ConfigurationReload {
    /// Every key of `ProxyConfiguration` (ConfigurationReloadTests checks that none is missing).
    static var keys: [ReloadableKey] {
        [
            ReloadableKey("acs.url", \.acs.url, .managementServer { $0.url = $1.url }),
            ReloadableKey("acs.username", \.acs.username, .managementServer { $0.username = $1.username }),
            ReloadableKey("acs.passwordFile", \.acs.password, .managementServer { $0.password = $1.password }),
            ReloadableKey("acs.caBundle", \.acs.caBundlePath, .caBundle),
            ReloadableKey("acs.periodicInformEnable", \.acs.periodicInformEnable,
                          .managementServer { $0.periodicInformEnable = $1.periodicInformEnable }),
            ReloadableKey("acs.periodicInformInterval", \.acs.periodicInformInterval,
                          .managementServer { $0.periodicInformInterval = $1.periodicInformInterval }),
            ReloadableKey("connectionRequest.address", \.connectionRequest.address, .restart),
            ReloadableKey("connectionRequest.port", \.connectionRequest.port, .restart),
            // Every agent's ConnectionRequestURL is built from it when the agent starts.
            ReloadableKey("connectionRequest.advertisedHost", \.connectionRequest.advertisedHost, .restart),
            ReloadableKey("connectionRequest.username", \.connectionRequest.username,
                          .managementServer { $0.connectionRequestUsername = $1.connectionRequestUsername }),
            ReloadableKey("connectionRequest.passwordFile", \.connectionRequest.password,
                          .managementServer { $0.connectionRequestPassword = $1.connectionRequestPassword }),
            // The listener's configuration is fixed when it starts.
            ReloadableKey("connectionRequest.digestAlgorithms", \.connectionRequest.digestAlgorithms, .restart),
            ReloadableKey("connectionRequest.perDeviceBurst", \.connectionRequest.perDeviceBurst, .restart),
            ReloadableKey("connectionRequest.perDeviceRefillSeconds", \.connectionRequest.perDeviceRefillSeconds, .restart),
            ReloadableKey("connectionRequest.globalBurst", \.connectionRequest.globalBurst, .restart),
            ReloadableKey("connectionRequest.globalRefillMilliseconds", \.connectionRequest.globalRefillMilliseconds, .restart),
            ReloadableKey("connectionRequest.requestReadTimeoutSeconds", \.connectionRequest.requestReadTimeoutSeconds, .restart),
            ReloadableKey("connectionRequest.maxConnections", \.connectionRequest.maxConnections, .restart),
            // The DeviceId is the agent's identity in the store and at the ACS.
            ReloadableKey("gateway.manufacturer", \.gateway.manufacturer, .restart),
            ReloadableKey("gateway.manufacturerOUI", \.gateway.manufacturerOUI, .restart),
            ReloadableKey("gateway.productClass", \.gateway.productClass, .restart),
            ReloadableKey("gateway.serialNumber", \.gateway.serialNumber, .restart),
            ReloadableKey("gateway.modelName", \.gateway.modelName, .restart),
            // The Reboot/FactoryReset hooks and the Download actions are built with the gateway agent at start.
            ReloadableKey("gateway.rebootCommand", \.gateway.rebootCommand, .restart),
            ReloadableKey("gateway.factoryResetCommand", \.gateway.factoryResetCommand, .restart),
            ReloadableKey("gateway.hookTimeoutSeconds", \.gateway.hookTimeoutSeconds, .restart),
            ReloadableKey("downloads.hooks", \.downloads.hooks, .restart),
            ReloadableKey("downloads.maximumFileSize", \.downloads.maximumFileSize, .restart),
            ReloadableKey("downloads.timeLimitSeconds", \.downloads.timeLimitSeconds, .restart),
            ReloadableKey("upnp.interfaces", \.upnp.interfaces, .restart),
            ReloadableKey("upnp.mx", \.upnp.mx, .restart),
            ReloadableKey("upnp.searchTargets", \.upnp.searchTargets, .restart),
            ReloadableKey("stateDirectory", \.stateDirectory, .restart),
            ReloadableKey("logLevel", \.logLevel, .logLevel),
        ]
    }

    /// The reload from `loaded` (the configuration last loaded successfully) to `next`; `running` is the one the
    /// daemon started with, which the keys that need a restart still run on. `caBundleFileChanged`: the file
    /// `acs.caBundle` names has other contents than when it was last loaded (a CA file replaced in place is a
    /// change of the key's value, as a password file's new contents are).
    static func plan(loaded: ProxyConfiguration, running: ProxyConfiguration, next: ProxyConfiguration,
                     caBundleFileChanged: Bool = false) -> ConfigurationReloadPlan {
        var plan = ConfigurationReloadPlan()
        if caBundleFileChanged, next.acs.caBundlePath != nil { plan.caBundleChanged = true }
        for key in keys where key.differs(loaded, next) {
            switch key.effect {
            case .managementServer: plan.managementServerKeys.append(key.name)
            case .caBundle: plan.caBundleChanged = true
            case .logLevel: plan.logLevelChanged = true
            case .restart: if key.differs(running, next) { plan.needsRestart.append(key.name) }
            }
        }
        return plan
    }

    /// `settings` with the values of `keys` (ManagementServer keys of a plan) taken from `configured`; every other
    /// value, the ACS's included, stays as it is.
    static func apply(_ names: [String], of configured: ManagementServerSettings, to settings: inout ManagementServerSettings) {
        for key in keys where names.contains(key.name) {
            if case .managementServer(let set) = key.effect { set(&settings, configured) }
        }
    }
}
