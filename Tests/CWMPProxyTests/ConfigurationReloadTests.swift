// The SIGHUP reload's diff (`ConfigurationReload`), a pure function: which keys a reload applies, which it only
// reports as needing a restart, and that values the ACS set to keys the file did not change survive it. The daemon
// doing it for real is in DaemonReloadTests.
import CWMPClient
import Foundation
import Logging
import Proxier
import Testing
@testable import cwmp_proxy

@Suite struct ConfigurationReloadTests {
    struct Missing: Error {}

    func parse(_ json: String, files: [String: String] = [:]) throws -> ProxyConfiguration {
        try ProxyConfiguration.parse(json: Array(json.utf8)) { path in
            guard let text = files[path] else { throw Missing() }
            return text
        }
    }

    static let base = """
        {"acs": {"url": "http://acs-1.example/cwmp", "username": "gw", "passwordFile": "/acs.pw",
                 "periodicInformInterval": 3600},
         "connectionRequest": {"address": "127.0.0.1", "port": 7547, "username": "acs", "passwordFile": "/cr.pw"},
         "gateway": {"manufacturerOUI": "00A0C9", "serialNumber": "S1"}, "logLevel": "info"}
        """
    static let passwords = ["/acs.pw": "acs-pw", "/cr.pw": "cr-pw"]

    @Test func anUnchangedFileChangesNothing() throws {
        let configuration = try parse(Self.base, files: Self.passwords)
        let again = try parse(Self.base, files: Self.passwords)
        #expect(ConfigurationReload.plan(loaded: configuration, running: configuration, next: again) == ConfigurationReloadPlan())
    }

    @Test func valuesTheACSSetSurviveAReloadOfAnUnchangedFile() throws {
        let configuration = try parse(Self.base, files: Self.passwords)
        // The ACS moved the gateway and changed its interval and Connection Request password.
        var current = managementServerSettings(configuration)
        current.url = "http://acs-2.example/cwmp"
        current.periodicInformInterval = 7200
        current.connectionRequestPassword = "acs-chosen"
        let before = current

        let plan = ConfigurationReload.plan(loaded: configuration, running: configuration, next: configuration)
        ConfigurationReload.apply(plan.managementServerKeys, of: managementServerSettings(configuration), to: &current)
        #expect(current == before)
    }

    @Test func onlyTheKeysTheFileChangedAreApplied() throws {
        let configuration = try parse(Self.base, files: Self.passwords)
        var current = managementServerSettings(configuration)
        current.url = "http://acs-2.example/cwmp"
        current.periodicInformInterval = 7200

        let next = try parse(Self.base.replacingOccurrences(of: "3600", with: "900"), files: Self.passwords)
        let plan = ConfigurationReload.plan(loaded: configuration, running: configuration, next: next)
        #expect(plan == ConfigurationReloadPlan(managementServerKeys: ["acs.periodicInformInterval"]))
        ConfigurationReload.apply(plan.managementServerKeys, of: managementServerSettings(next), to: &current)
        #expect(current.periodicInformInterval == 900)
        #expect(current.url == "http://acs-2.example/cwmp", "the ACS's URL must stay: the file did not change it")
    }

    @Test func aNewURLInTheFileReplacesTheACSsURL() throws {
        let configuration = try parse(Self.base, files: Self.passwords)
        var current = managementServerSettings(configuration)
        current.url = "http://acs-2.example/cwmp"
        let next = try parse(Self.base.replacingOccurrences(of: "acs-1", with: "acs-3"), files: Self.passwords)
        let plan = ConfigurationReload.plan(loaded: configuration, running: configuration, next: next)
        #expect(plan.managementServerKeys == ["acs.url"])
        ConfigurationReload.apply(plan.managementServerKeys, of: managementServerSettings(next), to: &current)
        #expect(current.url == "http://acs-3.example/cwmp")
    }

    @Test func aChangedPasswordFileIsAChangedValueAndThePlanHoldsNoSecret() throws {
        let configuration = try parse(Self.base, files: Self.passwords)
        let next = try parse(Self.base, files: ["/acs.pw": "acs-pw", "/cr.pw": "cr-pw-2"])
        let plan = ConfigurationReload.plan(loaded: configuration, running: configuration, next: next)
        #expect(plan == ConfigurationReloadPlan(managementServerKeys: ["connectionRequest.passwordFile"]))
        #expect(!String(reflecting: plan).contains("cr-pw"))
        var current = managementServerSettings(configuration)
        ConfigurationReload.apply(plan.managementServerKeys, of: managementServerSettings(next), to: &current)
        #expect(current.connectionRequestPassword == "cr-pw-2")
        #expect(current.password == "acs-pw")
    }

    @Test func keysReadAtStartAreReportedOnceAndNotWhenChangedBack() throws {
        let running = try parse(Self.base, files: Self.passwords)
        let moved = try parse(Self.base.replacingOccurrences(of: "7547", with: "7548"), files: Self.passwords)
        #expect(ConfigurationReload.plan(loaded: running, running: running, next: moved)
                == ConfigurationReloadPlan(needsRestart: ["connectionRequest.port"]))
        // Reloaded again unchanged: already reported.
        #expect(ConfigurationReload.plan(loaded: moved, running: running, next: moved) == ConfigurationReloadPlan())
        // Changed back to what the daemon runs with: nothing to restart for.
        #expect(ConfigurationReload.plan(loaded: moved, running: running, next: running) == ConfigurationReloadPlan())
    }

    @Test func everyKeyIsClassified() throws {
        let first = try parse("""
            {"acs": {"url": "http://a/", "username": "u", "passwordFile": "/a", "caBundle": "/ca1",
                     "periodicInformEnable": true, "periodicInformInterval": 10},
             "connectionRequest": {"address": "127.0.0.1", "port": 1, "advertisedHost": "h1", "username": "c",
                                   "passwordFile": "/c", "digestAlgorithms": ["MD5"], "perDeviceBurst": 1,
                                   "perDeviceRefillSeconds": 1, "globalBurst": 1, "globalRefillMilliseconds": 1,
                                   "requestReadTimeoutSeconds": 1, "maxConnections": 1},
             "gateway": {"manufacturer": "m", "manufacturerOUI": "000001", "productClass": "p", "serialNumber": "s",
                         "modelName": "n"},
             "upnp": {"interfaces": ["a"], "mx": 1, "searchTargets": ["x"]},
             "stateDirectory": "/s1", "logLevel": "info"}
            """, files: ["/a": "1", "/c": "1"])
        let second = try parse("""
            {"acs": {"url": "http://b/", "username": "v", "passwordFile": "/a", "caBundle": "/ca2",
                     "periodicInformEnable": false, "periodicInformInterval": 20},
             "connectionRequest": {"address": "127.0.0.2", "port": 2, "advertisedHost": "h2", "username": "d",
                                   "passwordFile": "/c", "digestAlgorithms": ["SHA-256"], "perDeviceBurst": 2,
                                   "perDeviceRefillSeconds": 2, "globalBurst": 2, "globalRefillMilliseconds": 2,
                                   "requestReadTimeoutSeconds": 2, "maxConnections": 2},
             "gateway": {"manufacturer": "m2", "manufacturerOUI": "000002", "productClass": "p2", "serialNumber": "s2",
                         "modelName": "n2"},
             "upnp": {"interfaces": ["b"], "mx": 2, "searchTargets": ["y"]},
             "stateDirectory": "/s2", "logLevel": "debug"}
            """, files: ["/a": "2", "/c": "2"])
        let plan = ConfigurationReload.plan(loaded: first, running: first, next: second)
        #expect(plan.managementServerKeys == ["acs.url", "acs.username", "acs.passwordFile", "acs.periodicInformEnable",
                                              "acs.periodicInformInterval", "connectionRequest.username",
                                              "connectionRequest.passwordFile"])
        #expect(plan.caBundleChanged && plan.logLevelChanged)
        #expect(plan.needsRestart == [
            "connectionRequest.address", "connectionRequest.port", "connectionRequest.advertisedHost",
            "connectionRequest.digestAlgorithms", "connectionRequest.perDeviceBurst",
            "connectionRequest.perDeviceRefillSeconds", "connectionRequest.globalBurst",
            "connectionRequest.globalRefillMilliseconds", "connectionRequest.requestReadTimeoutSeconds",
            "connectionRequest.maxConnections", "gateway.manufacturer", "gateway.manufacturerOUI",
            "gateway.productClass", "gateway.serialNumber", "gateway.modelName", "upnp.interfaces", "upnp.mx",
            "upnp.searchTargets", "stateDirectory",
        ])
        // A key added to ProxyConfiguration without a line in the table would be neither applied nor reported.
        #expect(ConfigurationReload.keys.count == leafCount(Mirror(reflecting: ProxyConfiguration())))
        #expect(Set(ConfigurationReload.keys.map(\.name)).count == ConfigurationReload.keys.count)
    }

    @Test func aCABundleReplacedInPlaceIsAChange() throws {
        let configuration = try parse(#"{"acs": {"caBundle": "/etc/cwmp-proxy/ca.pem"}}"#)
        #expect(ConfigurationReload.plan(loaded: configuration, running: configuration, next: configuration,
                                         caBundleFileChanged: true) == ConfigurationReloadPlan(caBundleChanged: true))
        #expect(ConfigurationReload.plan(loaded: configuration, running: configuration, next: configuration,
                                         caBundleFileChanged: false) == ConfigurationReloadPlan())
        // No bundle configured: the system store, nothing to re-read.
        let none = try parse("{}")
        #expect(ConfigurationReload.plan(loaded: configuration, running: configuration, next: none,
                                         caBundleFileChanged: true) == ConfigurationReloadPlan(caBundleChanged: true))
        #expect(ConfigurationReload.plan(loaded: none, running: none, next: none, caBundleFileChanged: true)
                == ConfigurationReloadPlan())
    }

    @Test func anUnusableCABundleIsAnErrorNamingTheKey() {
        #expect(throws: ConfigurationError.self) {
            _ = try ReloadableACSTransport.make(caBundlePath: "/nonexistent/ca.pem", logger: Logger(label: "test"))
        }
        do {
            _ = try ReloadableACSTransport.make(caBundlePath: "/nonexistent/ca.pem", logger: Logger(label: "test"))
        } catch { #expect(error.key == "acs.caBundle") }
    }

    @Test func theDaemonsLoggersFollowOneLevel() {
        let level = LogLevelSwitch(.info)
        var logger = Logger(label: "test") { DaemonLogHandler(label: $0, levelSwitch: level) }
        #expect(logger.logLevel == .info)
        level.current = .debug
        #expect(logger.logLevel == .debug)
        // One logger cannot change the daemon's level.
        logger.logLevel = .critical
        #expect(level.current == .debug && logger.logLevel == .debug)
    }
}

/// Leaf values of a configuration: its stored properties, nested sections expanded (a `Secret` is a leaf).
private func leafCount(_ mirror: Mirror) -> Int {
    mirror.children.reduce(0) { count, child in
        let nested = Mirror(reflecting: child.value)
        let isSection = nested.displayStyle == .struct
            && String(reflecting: type(of: child.value)).contains("ProxyConfiguration.")
        return count + (isSection ? leafCount(nested) : 1)
    }
}
