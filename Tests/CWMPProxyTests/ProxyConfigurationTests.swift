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
        (#"[1]"#, "(root)"),
        (#"{"#, "(file)"),
    ])
    func errorsNameTheKeyAtFault(json: String, key: String) {
        #expect(throws: ConfigurationError.self) { try parse(json) }
        do { _ = try parse(json) } catch { #expect(error.key == key) }
    }

    @Test func passwordsNeverAppearInDescriptions() throws {
        let configuration = try parse(#"{"acs": {"passwordFile": "/p"}}"#, files: ["/p": "topsecret"])
        #expect(!String(describing: configuration).contains("topsecret"))
        #expect(!String(reflecting: configuration).contains("topsecret"))
    }
}
