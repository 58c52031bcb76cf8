import ArgumentParser
import CWMPClient
import FoundationEssentials
import Logging

/// `cwmp-proxy run`: the daemon. A configuration file is optional: the flags below are enough to start the
/// gateway agent and inform an ACS, which is what scripts and tests use.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the proxier: the gateway's CWMP agent, the Connection Request listener, and the proxied devices."
    )

    @Option(name: .customLong("config"), help: "A JSON configuration file (docs/configuration.md).")
    var configurationFile: String?

    @Option(help: "The ACS URL (Device.ManagementServer.URL).")
    var acsURL: String?

    @Option(help: "The username the gateway authenticates to the ACS with.")
    var acsUsername: String?

    @Option(help: "A file holding the ACS password (never passed on the command line).")
    var acsPasswordFile: String?

    @Option(name: .customLong("cr-address"), help: "The address the Connection Request listener binds.")
    var connectionRequestAddress: String?

    @Option(name: .customLong("cr-port"), help: "The Connection Request listener's port (0 picks one).")
    var connectionRequestPort: Int?

    @Option(name: .customLong("cr-username"), help: "The username the ACS must use for Connection Requests.")
    var connectionRequestUsername: String?

    @Option(name: .customLong("cr-password-file"), help: "A file holding the Connection Request password.")
    var connectionRequestPasswordFile: String?

    @Option(help: "Seconds between periodic Informs (Device.ManagementServer.PeriodicInformInterval).")
    var periodicInformInterval: UInt32?

    @Option(name: .customLong("state-dir"), help: "Where the agents' state database lives.")
    var stateDirectory: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func run() async throws {
        let configuration: ProxyConfiguration
        do {
            configuration = try loadConfiguration(readFile: readTextFile)
        } catch {
            throw ValidationError(error.description)
        }
        // One level for every logger of the process, libraries' included, so that a reload can change it.
        let logLevel = LogLevelSwitch(configuration.logLevel)
        LoggingSystem.bootstrap { label in DaemonLogHandler(label: label, levelSwitch: logLevel) }
        let logger = Logger(label: "cwmp-proxy")
        let command = self
        let proxy = try await buildProxy(configuration: configuration, logger: logger, logLevel: logLevel) {
            do { return try command.loadConfiguration(readFile: readTextFile) } catch { throw error }
        }
        try await proxy.run()
    }

    /// The configuration file (if any) with the flags layered on top; flags win.
    func loadConfiguration(readFile: (String) throws -> String) throws(ConfigurationError) -> ProxyConfiguration {
        var configuration = ProxyConfiguration()
        if let configurationFile {
            let text: String
            do { text = try readFile(configurationFile) } catch {
                throw ConfigurationError(key: "--config", problem: "cannot read \(configurationFile)")
            }
            configuration = try ProxyConfiguration.parse(json: Array(text.utf8), readFile: readFile)
        }
        if let acsURL { configuration.acs.url = acsURL }
        if let acsUsername { configuration.acs.username = acsUsername }
        if let acsPasswordFile { configuration.acs.password = try ProxyConfiguration.readSecret(acsPasswordFile, key: "--acs-password-file", readFile) }
        if let connectionRequestAddress { configuration.connectionRequest.address = connectionRequestAddress }
        if let connectionRequestPort {
            guard (0...65_535).contains(connectionRequestPort) else {
                throw ConfigurationError(key: "--cr-port", problem: "must be in 0...65535")
            }
            configuration.connectionRequest.port = connectionRequestPort
        }
        if let connectionRequestUsername { configuration.connectionRequest.username = connectionRequestUsername }
        if let connectionRequestPasswordFile {
            configuration.connectionRequest.password = try ProxyConfiguration.readSecret(connectionRequestPasswordFile, key: "--cr-password-file", readFile)
        }
        if let periodicInformInterval {
            guard periodicInformInterval >= 1 else { throw ConfigurationError(key: "--periodic-inform-interval", problem: "must be at least 1") }
            configuration.acs.periodicInformInterval = periodicInformInterval
        }
        if let stateDirectory { configuration.stateDirectory = stateDirectory }
        if let logLevel {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw ConfigurationError(key: "--log-level", problem: "one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = level
        }
        try configuration.validate()
        return configuration
    }
}

/// Reads a whole text file (configuration, password files).
func readTextFile(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(filePath: path)), as: UTF8.self)
}
