import CWMPClient
import Testing
@testable import cwmp_proxy

@Suite struct ProxyConfigurationTests {
    struct Missing: Error {}

    func parse(_ json: String, files: [String: String] = [:]) throws(ConfigurationError) -> ProxyConfiguration {
        try ProxyConfiguration.parse(json: Array(json.utf8)) { path in
            guard let text = files[path] else { throw Missing() }
            return text
        }
    }

    @Test func anEmptyObjectGivesTheDocumentedDefaults() throws {
        let configuration = try parse("{}")
        #expect(configuration == ProxyConfiguration())
        #expect(configuration.connectionRequest.port == 7547)
        #expect(configuration.acs.periodicInformInterval == 3600)
    }

    @Test func readsEveryKeyAndPasswordFilesWithoutTheirNewline() throws {
        let configuration = try parse("""
            {"acs": {"url": "https://acs.example/cwmp", "username": "cpe", "passwordFile": "/run/acs",
                     "periodicInformEnable": false, "periodicInformInterval": 60},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "/run/cr",
                                   "advertisedHost": "gw.lan"},
             "gateway": {"manufacturer": "ACME", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "S1",
                         "modelName": "M"},
             "stateDirectory": "/tmp/x", "logLevel": "debug"}
            """, files: ["/run/acs": "s3cret\n", "/run/cr": "crpass"])
        #expect(configuration.acs.url == "https://acs.example/cwmp")
        #expect(configuration.acs.password.revealed == "s3cret")
        #expect(configuration.connectionRequest.password.revealed == "crpass")
        #expect(configuration.acs.periodicInformInterval == 60)
        #expect(configuration.gateway.manufacturerOUI == "00A0C9")
        #expect(configuration.logLevel == .debug)
    }

    @Test(arguments: [
        (#"{"acs": {"periodicInformInterval": 0}}"#, "acs.periodicInformInterval"),
        (#"{"acs": {"url": "ftp://x"}}"#, "acs.url"),
        (#"{"acs": {"pasword": "x"}}"#, "acs.pasword"),
        (#"{"connectionRequest": {"port": 70000}}"#, "connectionRequest.port"),
        (#"{"gateway": {"manufacturerOUI": "00a0c9"}}"#, "gateway.manufacturerOUI"),
        (#"{"acs": {"passwordFile": "/nope"}}"#, "acs.passwordFile"),
        (#"{"logLevel": "loud"}"#, "logLevel"),
        (#"{"acs": 3}"#, "acs"),
        (#"{"connectionRequest": {"digestAlgorithms": ["SHA-1"]}}"#, "connectionRequest.digestAlgorithms"),
        (#"{"connectionRequest": {"digestAlgorithms": []}}"#, "connectionRequest.digestAlgorithms"),
        (#"{"connectionRequest": {"digestAlgorithms": "MD5"}}"#, "connectionRequest.digestAlgorithms"),
        (#"{"connectionRequest": {"requestReadTimeoutSeconds": 31}}"#, "connectionRequest.requestReadTimeoutSeconds"),
        (#"{"connectionRequest": {"maxConnections": 0}}"#, "connectionRequest.maxConnections"),
        (#"{"connectionRequest": {"perDeviceBurst": 0}}"#, "connectionRequest.perDeviceBurst"),
        (#"{"gateway": {"rebootCommand": []}}"#, "gateway.rebootCommand"),
        (#"{"gateway": {"factoryResetCommand": "/sbin/reboot"}}"#, "gateway.factoryResetCommand"),
        (#"{"gateway": {"hookTimeoutSeconds": 0}}"#, "gateway.hookTimeoutSeconds"),
        (#"[1]"#, "(root)"),
        (#"{"#, "(file)"),
    ])
    func errorsNameTheKeyAtFault(json: String, key: String) {
        #expect(throws: ConfigurationError.self) { try parse(json) }
        do { _ = try parse(json) } catch { #expect(error.key == key) }
    }

    @Test func connectionRequestLimitsReachTheListenersConfiguration() throws {
        let defaults = ConnectionRequestServer.Configuration(try parse("{}").connectionRequest)
        let listenerDefaults = ConnectionRequestServer.Configuration()
        #expect(defaults.digestAlgorithms == listenerDefaults.digestAlgorithms)
        #expect(defaults.agentBurst == listenerDefaults.agentBurst)
        #expect(defaults.agentRefillInterval == listenerDefaults.agentRefillInterval)
        #expect(defaults.globalBurst == listenerDefaults.globalBurst)
        #expect(defaults.globalRefillInterval == listenerDefaults.globalRefillInterval)
        #expect(defaults.requestReadTimeout == listenerDefaults.requestReadTimeout)
        #expect(defaults.maxConnections == listenerDefaults.maxConnections)

        let configured = ConnectionRequestServer.Configuration(try parse("""
            {"connectionRequest": {"address": "127.0.0.1", "port": 0, "digestAlgorithms": ["sha-256", "MD5", "SHA-256"],
                                   "perDeviceBurst": 2, "perDeviceRefillSeconds": 30, "globalBurst": 50,
                                   "globalRefillMilliseconds": 100, "requestReadTimeoutSeconds": 3, "maxConnections": 16}}
            """).connectionRequest)
        #expect(configured.host == "127.0.0.1")
        #expect(configured.digestAlgorithms == [.sha256, .md5])
        #expect(configured.agentBurst == 2)
        #expect(configured.agentRefillInterval == .seconds(30))
        #expect(configured.globalBurst == 50)
        #expect(configured.globalRefillInterval == .milliseconds(100))
        #expect(configured.requestReadTimeout == .seconds(3))
        #expect(configured.maxConnections == 16)
    }

    @Test func theUPnPSectionConfiguresDiscovery() throws {
        #expect(try parse("{}").upnp.interfaces == [])
        let configuration = try parse("""
            {"upnp": {"interfaces": ["br-lan", "192.168.1.1"], "mx": 3, "searchTargets": ["ssdp:all"]}}
            """)
        #expect(configuration.upnp.interfaces == ["br-lan", "192.168.1.1"])
        #expect(configuration.upnp.mx == 3)
        #expect(configuration.upnp.searchTargets == ["ssdp:all"])
        #expect(try parse(#"{"upnp": {"interfaces": ["lo"]}}"#).upnp.searchTargets.count == 5)
        #expect(throws: ConfigurationError(key: "upnp.mx", problem: "must be an integer in 1...5")) {
            try parse(#"{"upnp": {"mx": 9}}"#)
        }
        #expect(throws: ConfigurationError.self) { try parse(#"{"upnp": {"searchTargets": []}}"#) }
        #expect(throws: ConfigurationError.self) { try parse(#"{"upnp": {"interface": ["lo"]}}"#) }
    }

    @Test func passwordsNeverAppearInDescriptions() throws {
        let configuration = try parse(#"{"acs": {"passwordFile": "/p"}}"#, files: ["/p": "topsecret"])
        #expect(!String(describing: configuration).contains("topsecret"))
        #expect(!String(reflecting: configuration).contains("topsecret"))
    }

    @Test func theRebootAndFactoryResetHooksAreArgumentVectors() throws {
        #expect(try parse("{}").gateway.rebootCommand == nil)
        #expect(try parse("{}").gateway.factoryResetCommand == nil)
        #expect(try parse("{}").gateway.hookTimeoutSeconds == 60)
        let configuration = try parse(#"{"gateway": {"rebootCommand": ["/usr/local/sbin/gw-reboot", "--soft"], "factoryResetCommand": ["/usr/local/sbin/gw-reset"], "hookTimeoutSeconds": 120}}"#)
        #expect(configuration.gateway.rebootCommand == ["/usr/local/sbin/gw-reboot", "--soft"])
        #expect(configuration.gateway.factoryResetCommand == ["/usr/local/sbin/gw-reset"])
        #expect(configuration.gateway.hookTimeoutSeconds == 120)
    }
}
