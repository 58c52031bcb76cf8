import CWMPClient
import FoundationEssentials
import Logging
import UPnPDM

/// Everything the daemon needs to start, from a JSON file (docs/configuration.md lists every key and its
/// default) with command-line flags layered on top. Passwords are read from files named in the
/// configuration, never from flags (a flag is visible to every user in `ps`), and are held as `Secret`s.
struct ProxyConfiguration: Sendable, Equatable {
    struct ACS: Sendable, Equatable {
        /// `Device.ManagementServer.URL`; the agent waits for one (set by the ACS-facing config) if nil.
        var url: String?
        var username: String = ""
        var password: Secret = ""
        /// PEM bundle of the CAs an https ACS is verified against; the system's trust store when nil.
        var caBundlePath: String?
        var periodicInformEnable: Bool = true
        var periodicInformInterval: UInt32 = 3600
    }

    struct ConnectionRequest: Sendable, Equatable {
        var address: String = "0.0.0.0"
        var port: Int = 7547
        /// The host the ACS reaches this listener at, used in ConnectionRequestURL; the bound address if nil.
        var advertisedHost: String?
        var username: String = ""
        var password: Secret = ""
        /// The listener's Digest algorithms and its defences against floods; defaults in
        /// `ConnectionRequestServer.Configuration`.
        var digestAlgorithms: [DigestAlgorithm] = [.md5]
        var perDeviceBurst: Int = 5
        var perDeviceRefillSeconds: Int = 2
        var globalBurst: Int = 200
        var globalRefillMilliseconds: Int = 10
        var requestReadTimeoutSeconds: Int = 10
        var maxConnections: Int = 256
    }

    /// The gateway's own CPE identity (its DeviceId in every Inform).
    struct Gateway: Sendable, Equatable {
        var manufacturer: String = "cwmp-proxy"
        /// Six upper-case hex digits.
        var manufacturerOUI: String = "000000"
        var productClass: String = "cwmp-proxy"
        /// `/etc/machine-id`'s first 16 characters when not configured, so two gateways never collide.
        var serialNumber: String?
        var modelName: String = "cwmp-proxy"
        /// Run after a Reboot RPC (argument vector, no shell); nil: only the agent's state restarts (log only).
        var rebootCommand: [String]?
        /// Run after a FactoryReset RPC; nil: only the agent's state is reset (log only).
        var factoryResetCommand: [String]?
        /// Bound on a hook command's run; it is killed after this.
        var hookTimeoutSeconds: UInt32 = 60
    }

    /// SSDP discovery of UPnP devices (`Device.UPnP.Discovery.`): off unless `interfaces` names a LAN interface.
    struct UPnP: Sendable, Equatable {
        /// Interface names or addresses; SSDP sockets are pinned to them, so discovery never leaves the LAN.
        var interfaces: [String] = []
        var mx: Int = 2
        var searchTargets: [String] = SSDPDiscoveryStateMachine.Configuration.defaultSearchTargets
    }

    /// Download (TR-069 §A.3.2.8): files go to `<stateDirectory>/downloads`, then to the hook of their FileType.
    struct Downloads: Sendable, Equatable {
        /// FileType → absolute path of the executable that applies such a file. None: every Download is
        /// reported failed (TransferComplete 9010), never as success.
        var hooks: [String: String] = [:]
        var maximumFileSize: Int = 64 << 20
        var timeLimitSeconds: Int = 600
    }

    var acs = ACS()
    var downloads = Downloads()
    var upnp = UPnP()
    var connectionRequest = ConnectionRequest()
    var gateway = Gateway()
    var stateDirectory: String = "/var/lib/cwmp-proxy"
    var logLevel: Logger.Level = .info
}

/// A configuration problem, naming the key (`acs.periodicInformInterval`) or file at fault.
struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    var key: String
    var problem: String
    var description: String { "configuration key '\(key)': \(problem)" }
}

extension ProxyConfiguration {
    /// Parses a JSON configuration file's bytes; `readFile` reads the password files it names.
    static func parse(json: [UInt8], readFile: (String) throws -> String) throws(ConfigurationError) -> ProxyConfiguration {
        let root: JSONObject
        do {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(json))
            guard case .object(let object) = value else { throw ConfigurationError(key: "(root)", problem: "must be a JSON object") }
            root = JSONObject(object, path: "")
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(key: "(file)", problem: "not valid JSON")
        }

        var configuration = ProxyConfiguration()
        try root.allowOnly(["acs", "connectionRequest", "downloads", "gateway", "stateDirectory", "logLevel", "upnp"])
        if let acs = try root.object("acs") {
            try acs.allowOnly(["url", "username", "passwordFile", "caBundle", "periodicInformEnable", "periodicInformInterval"])
            configuration.acs.url = try acs.string("url")
            configuration.acs.username = try acs.string("username") ?? ""
            if let file = try acs.string("passwordFile") { configuration.acs.password = try readSecret(file, key: acs.key("passwordFile"), readFile) }
            configuration.acs.caBundlePath = try acs.string("caBundle")
            configuration.acs.periodicInformEnable = try acs.bool("periodicInformEnable") ?? true
            configuration.acs.periodicInformInterval = try acs.integer("periodicInformInterval", in: 1...UInt32.max) ?? 3600
        }
        if let cr = try root.object("connectionRequest") {
            try cr.allowOnly(["address", "port", "advertisedHost", "username", "passwordFile", "digestAlgorithms",
                              "perDeviceBurst", "perDeviceRefillSeconds", "globalBurst", "globalRefillMilliseconds",
                              "requestReadTimeoutSeconds", "maxConnections"])
            configuration.connectionRequest.address = try cr.string("address") ?? "0.0.0.0"
            configuration.connectionRequest.port = Int(try cr.integer("port", in: UInt32(0)...65_535) ?? 7547)
            configuration.connectionRequest.advertisedHost = try cr.string("advertisedHost")
            configuration.connectionRequest.username = try cr.string("username") ?? ""
            if let file = try cr.string("passwordFile") {
                configuration.connectionRequest.password = try readSecret(file, key: cr.key("passwordFile"), readFile)
            }
            if let names = try cr.strings("digestAlgorithms") {
                var algorithms: [DigestAlgorithm] = []
                for name in names {
                    guard let algorithm = DigestAlgorithm(token: name) else {
                        throw ConfigurationError(key: cr.key("digestAlgorithms"),
                                                 problem: "each one of \(DigestAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    if !algorithms.contains(algorithm) { algorithms.append(algorithm) }
                }
                guard !algorithms.isEmpty else {
                    throw ConfigurationError(key: cr.key("digestAlgorithms"), problem: "must name at least one algorithm")
                }
                configuration.connectionRequest.digestAlgorithms = algorithms
            }
            var limits = configuration.connectionRequest
            limits.perDeviceBurst = Int(try cr.integer("perDeviceBurst", in: 1...10_000) ?? UInt32(limits.perDeviceBurst))
            limits.perDeviceRefillSeconds = Int(try cr.integer("perDeviceRefillSeconds", in: 1...86_400) ?? UInt32(limits.perDeviceRefillSeconds))
            limits.globalBurst = Int(try cr.integer("globalBurst", in: 1...1_000_000) ?? UInt32(limits.globalBurst))
            limits.globalRefillMilliseconds = Int(try cr.integer("globalRefillMilliseconds", in: 1...60_000) ?? UInt32(limits.globalRefillMilliseconds))
            // Above 30 s a trickling client would outlive the ACS's own Connection Request timeout.
            limits.requestReadTimeoutSeconds = Int(try cr.integer("requestReadTimeoutSeconds", in: 1...30) ?? UInt32(limits.requestReadTimeoutSeconds))
            limits.maxConnections = Int(try cr.integer("maxConnections", in: 1...65_535) ?? UInt32(limits.maxConnections))
            configuration.connectionRequest = limits
        }
        if let gateway = try root.object("gateway") {
            try gateway.allowOnly(["manufacturer", "manufacturerOUI", "productClass", "serialNumber", "modelName",
                                   "rebootCommand", "factoryResetCommand", "hookTimeoutSeconds"])
            configuration.gateway.manufacturer = try gateway.string("manufacturer") ?? configuration.gateway.manufacturer
            configuration.gateway.manufacturerOUI = try gateway.string("manufacturerOUI") ?? configuration.gateway.manufacturerOUI
            configuration.gateway.productClass = try gateway.string("productClass") ?? configuration.gateway.productClass
            configuration.gateway.serialNumber = try gateway.string("serialNumber")
            configuration.gateway.modelName = try gateway.string("modelName") ?? configuration.gateway.modelName
            for (name, keyPath) in [("rebootCommand", \Gateway.rebootCommand), ("factoryResetCommand", \Gateway.factoryResetCommand)] {
                guard let command = try gateway.strings(name) else { continue }
                guard let program = command.first, !program.isEmpty else {
                    throw ConfigurationError(key: gateway.key(name), problem: "an argument vector whose first element names the program")
                }
                configuration.gateway[keyPath: keyPath] = command
            }
            configuration.gateway.hookTimeoutSeconds = try gateway.integer("hookTimeoutSeconds", in: 1...3600) ?? 60
        }
        if let downloads = try root.object("downloads") {
            try downloads.allowOnly(["hooks", "maximumFileSize", "timeLimitSeconds"])
            if let hooks = try downloads.object("hooks") {
                for fileType in hooks.values.keys.sorted() {
                    // The FileType is matched as the ACS sends it: "1 Firmware Upgrade Image", "X 00D09E name", …
                    guard !fileType.isEmpty, fileType.count <= 64, let path = try hooks.string(fileType), path.hasPrefix("/") else {
                        throw ConfigurationError(key: hooks.key(fileType), problem: "the absolute path of an executable, under a FileType of at most 64 characters")
                    }
                    configuration.downloads.hooks[fileType] = path
                }
            }
            configuration.downloads.maximumFileSize = Int(try downloads.integer("maximumFileSize", in: 1...UInt32.max) ?? UInt32(configuration.downloads.maximumFileSize))
            configuration.downloads.timeLimitSeconds = Int(try downloads.integer("timeLimitSeconds", in: 1...86_400) ?? UInt32(configuration.downloads.timeLimitSeconds))
        }
        if let upnp = try root.object("upnp") {
            try upnp.allowOnly(["interfaces", "mx", "searchTargets"])
            configuration.upnp.interfaces = try upnp.strings("interfaces") ?? []
            // UDA 1.1 allows MX 1...5.
            configuration.upnp.mx = Int(try upnp.integer("mx", in: 1...5) ?? 2)
            if let targets = try upnp.strings("searchTargets") {
                guard !targets.isEmpty, targets.allSatisfy({ !$0.isEmpty && !$0.contains("\r") && !$0.contains("\n") }) else {
                    throw ConfigurationError(key: upnp.key("searchTargets"), problem: "one or more non-empty single-line search targets")
                }
                configuration.upnp.searchTargets = targets
            }
        }
        configuration.stateDirectory = try root.string("stateDirectory") ?? configuration.stateDirectory
        if let level = try root.string("logLevel") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ConfigurationError(key: "logLevel", problem: "one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = parsed
        }
        try configuration.validate()
        return configuration
    }

    /// Checks what the JSON types cannot: formats and cross-key rules.
    func validate() throws(ConfigurationError) {
        if let url = acs.url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.count > 256 {
            throw ConfigurationError(key: "acs.url", problem: "an absolute http:// or https:// URL of at most 256 characters")
        }
        let oui = gateway.manufacturerOUI.utf8
        if oui.count != 6 || !oui.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) {
            throw ConfigurationError(key: "gateway.manufacturerOUI", problem: "six upper-case hexadecimal digits")
        }
        for (key, value) in [("gateway.manufacturer", gateway.manufacturer), ("gateway.productClass", gateway.productClass),
                             ("gateway.serialNumber", gateway.serialNumber ?? ""), ("gateway.modelName", gateway.modelName)]
        where value.count > 64 {
            throw ConfigurationError(key: key, problem: "at most 64 characters")
        }
    }

    /// A password file's content as a secret; `key` names the configuration key or flag in errors.
    static func readSecret(_ path: String, key: String, _ readFile: (String) throws -> String) throws(ConfigurationError) -> Secret {
        do {
            var text = try readFile(path)
            // A trailing newline is what `echo pw > file` leaves; it is never part of the password.
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return Secret(text)
        } catch {
            throw ConfigurationError(key: key, problem: "cannot read the file it names")
        }
    }
}

/// A JSON document as values, for configuration files whose errors must name the key at fault.
enum JSONValue: Decodable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case integer(Int64)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? container.decode(Int64.self) { self = .integer(integer) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let array = try? container.decode([JSONValue].self) { self = .array(array) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// One JSON object of the configuration, remembering where it sits so errors can name full keys.
struct JSONObject {
    let values: [String: JSONValue]
    let path: String

    init(_ values: [String: JSONValue], path: String) {
        self.values = values
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Unknown keys are errors: a misspelt key silently falling back to its default is worse.
    func allowOnly(_ known: Set<String>) throws(ConfigurationError) {
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(key: key(unknown), problem: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func object(_ name: String) throws(ConfigurationError) -> JSONObject? {
        switch values[name] {
        case nil, .null?: return nil
        case .object(let object)?: return JSONObject(object, path: key(name))
        default: throw ConfigurationError(key: key(name), problem: "must be an object")
        }
    }

    func string(_ name: String) throws(ConfigurationError) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let string)?: return string
        default: throw ConfigurationError(key: key(name), problem: "must be a string")
        }
    }

    func strings(_ name: String) throws(ConfigurationError) -> [String]? {
        switch values[name] {
        case nil, .null?: return nil
        case .array(let elements)?:
            var strings: [String] = []
            for element in elements {
                guard case .string(let string) = element else {
                    throw ConfigurationError(key: key(name), problem: "must be an array of strings")
                }
                strings.append(string)
            }
            return strings
        default: throw ConfigurationError(key: key(name), problem: "must be an array of strings")
        }
    }

    func bool(_ name: String) throws(ConfigurationError) -> Bool? {
        switch values[name] {
        case nil, .null?: return nil
        case .bool(let bool)?: return bool
        default: throw ConfigurationError(key: key(name), problem: "must be true or false")
        }
    }

    func integer(_ name: String, in range: ClosedRange<UInt32>) throws(ConfigurationError) -> UInt32? {
        switch values[name] {
        case nil, .null?: return nil
        case .integer(let integer)? where integer >= Int64(range.lowerBound) && integer <= Int64(range.upperBound):
            return UInt32(integer)
        default: throw ConfigurationError(key: key(name), problem: "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
    }
}
