// `cwmp-proxy discover --snmp`: the SNMP half of the discover command, kept apart from the command itself so that
// the UPnP half (`--upnp`) merges beside it. For each agent: identity, matched profiles, and every TR-181
// parameter the profiles expose with its current value, read through the same provider the proxier mounts.
import ArgumentParser
import CWMPClient
import FoundationEssentials
import Proxier
import SNMPBridge
#if canImport(Glibc)
import Glibc
#endif

/// The SNMP options of `discover`.
struct SNMPDiscoverOptions: ParsableArguments {
    @Option(name: .customLong("snmp"), parsing: .upToNextOption,
            help: "SNMP agents to query: HOST[:PORT] or [IPv6]:PORT (numeric address; port 161 by default).")
    var hosts: [String] = []

    @Option(help: "SNMPv2c community (default: public). Visible in the process list: prefer --community-file.")
    var community: String?

    @Option(help: "A file holding the SNMPv2c community.")
    var communityFile: String?

    @Option(name: .customLong("snmp-v3-user"), help: "SNMPv3 USM user name (instead of a community).")
    var v3User: String?

    @Option(help: "SNMPv3 authentication protocol: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512.")
    var authProtocol: String?

    @Option(help: "A file holding the SNMPv3 authentication password.")
    var authPasswordFile: String?

    @Option(help: "SNMPv3 privacy protocol: DES, AES, AES-192, AES-256.")
    var privProtocol: String?

    @Option(help: "A file holding the SNMPv3 privacy password.")
    var privPasswordFile: String?

    @Option(name: .customLong("snmp-timeout"), help: "Seconds per SNMP request (each retried once).")
    var timeout: Int = 2

    func validate() throws {
        if v3User != nil, community != nil || communityFile != nil {
            throw ValidationError("--community and --snmp-v3-user exclude each other")
        }
        if v3User == nil, authProtocol != nil || authPasswordFile != nil || privProtocol != nil || privPasswordFile != nil {
            throw ValidationError("SNMPv3 options need --snmp-v3-user")
        }
        if (authProtocol == nil) != (authPasswordFile == nil) {
            throw ValidationError("--auth-protocol and --auth-password-file go together")
        }
        if (privProtocol == nil) != (privPasswordFile == nil) {
            throw ValidationError("--priv-protocol and --priv-password-file go together")
        }
        if privProtocol != nil, authProtocol == nil { throw ValidationError("SNMPv3 privacy needs authentication") }
        guard (1...60).contains(timeout) else { throw ValidationError("--snmp-timeout must be 1 to 60 seconds") }
    }

    func credentials() throws -> SNMPCredentials {
        guard let v3User else {
            if let communityFile { return .v2c(community: try readSecretFile(communityFile, option: "--community-file")) }
            return .v2c(community: Secret(community ?? "public"))
        }
        var user = SNMPUSMUser(name: v3User)
        if let authProtocol, let authPasswordFile {
            guard let parsed = SNMPAuthenticationProtocol(rawValue: authProtocol.uppercased()) else {
                throw ValidationError("Unknown --auth-protocol \(authProtocol)")
            }
            user.authentication = .init(parsed, password: try readSecretFile(authPasswordFile, option: "--auth-password-file"))
        }
        if let privProtocol, let privPasswordFile {
            guard let parsed = SNMPPrivacyProtocol(rawValue: privProtocol.uppercased()) else {
                throw ValidationError("Unknown --priv-protocol \(privProtocol)")
            }
            user.privacy = .init(parsed, password: try readSecretFile(privPasswordFile, option: "--priv-password-file"))
        }
        return .v3(user)
    }

    /// HOST[:PORT] or [IPv6]:PORT → (host, port).
    static func target(_ text: String) throws -> (host: String, port: Int) {
        do {
            return try SNMPAgent.parseAddress(text)
        } catch {
            throw ValidationError(error.reason)
        }
    }
}

/// A secret from a file, its trailing newline removed. The file's content never reaches an error message.
func readSecretFile(_ path: String, option: String) throws -> Secret {
    guard let file = fopen(path, "r") else { throw ValidationError("Cannot read \(option) \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
        guard bytes.count <= 65_536 else { throw ValidationError("\(option) \(path) is larger than 64 KiB") }
    }
    while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
    guard !bytes.isEmpty else { throw ValidationError("\(option) \(path) is empty") }
    return Secret(String(decoding: bytes, as: UTF8.self))
}

/// What `discover --snmp` reports for one agent.
struct SNMPDiscoverReport: Codable, Sendable {
    struct Identity: Codable, Sendable {
        var manufacturerOUI: String
        var productClass: String
        var serialNumber: String
    }

    struct Parameter: Codable, Sendable {
        /// The CWMP name, instances numbered 1, 2, … in the agent's order (as a fresh proxier numbers them).
        var name: String
        var value: String
        /// The native instance keys (ifName=eth0, …), outermost first.
        var instanceKeys: [String]?
    }

    var agent: String
    var sysObjectID: String?
    var sysDescr: String?
    var sysName: String?
    var identity: Identity?
    var profiles: [String]
    var parameters: [Parameter]
    /// Why the agent could not be read (no answer, wrong credentials, …).
    var error: String?
}

enum SNMPDiscoverRunner {
    /// Reads every host in turn (each bounded by the agent's timeout and retries per request).
    static func reports(for options: SNMPDiscoverOptions) async throws -> [SNMPDiscoverReport] {
        let credentials = try options.credentials()
        let profiles = try SNMPBuiltinProfiles.compiled()
        let manager = SNMPManager()
        defer { manager.shutdown() }
        var reports: [SNMPDiscoverReport] = []
        for text in options.hosts {
            let target = try SNMPDiscoverOptions.target(text)
            let discovery = SNMPDiscovery(credentials: [credentials], profiles: profiles,
                                          timeout: .seconds(options.timeout), retries: 1)
            // IPv6 literals in brackets, as the operator writes them.
            let agentName = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
            guard let found = await discovery.probe(host: target.host, port: target.port, using: manager) else {
                reports.append(SNMPDiscoverReport(agent: agentName, profiles: [], parameters: [],
                                                  error: "no answer with the given credentials"))
                continue
            }
            var report = SNMPDiscoverReport(agent: agentName, sysObjectID: found.sysObjectID?.description,
                                            sysDescr: found.sysDescr, sysName: found.sysName, profiles: found.profiles,
                                            parameters: [])
            do {
                let client = manager.session(for: found.agent)
                let facts = try await SNMPDeviceIdentity.fetchFacts(from: client)
                let identity = SNMPDeviceIdentity.derive(from: facts, agentID: agentName)
                report.identity = .init(manufacturerOUI: identity.manufacturerOUI, productClass: identity.productClass,
                                        serialNumber: identity.serialNumber)
                let selected = profiles.filter { found.profiles.contains($0.name) }
                let provider = SNMPProfileProvider(client: client, profiles: selected, agentID: agentName)
                report.parameters = try await parameters(of: provider)
            } catch {
                report.error = "\(error)"
            }
            reports.append(report)
        }
        return reports
    }

    /// Every mapped parameter with its value; table parameters once per instance, in the agent's order.
    static func parameters(of provider: SNMPProfileProvider) async throws -> [SNMPDiscoverReport.Parameter] {
        let templates = await provider.mappedParameters().sorted()
        // Instance keys of every table (nested ones per parent instance), memoized by table path and parent keys.
        var instanceCache: [ProviderPath: [String]] = [:]
        func instances(_ table: ProviderPath) async throws -> [String] {
            if let cached = instanceCache[table] { return cached }
            let keys = try await provider.instances(of: [table])[0].map(\.key)
            instanceCache[table] = keys
            return keys
        }
        var paths: [(ProviderPath, String)] = []  // path and its numbered CWMP name
        for template in templates {
            // Expand each "{i}." level in turn: (template so far, keys so far, numbered name so far).
            var partial: [(keys: [String], name: String)] = [([], "")]
            var rest = Substring(template)
            var prefix = ""
            while let range = rest.firstRange(of: "{i}.") {
                let segment = String(rest[..<range.lowerBound])
                prefix += segment
                var next: [(keys: [String], name: String)] = []
                for entry in partial {
                    let keys = try await instances(ProviderPath(template: prefix, instanceKeys: entry.keys))
                    for (number, key) in keys.enumerated() {
                        next.append((entry.keys + [key], entry.name + segment + "\(number + 1)."))
                    }
                }
                partial = next
                prefix += "{i}."
                rest = rest[range.upperBound...]
            }
            for entry in partial {
                paths.append((ProviderPath(template: template, instanceKeys: entry.keys), entry.name + rest))
            }
        }
        // One batch; if it fails (an instance that vanished between listing and reading: interfaces come and go),
        // each parameter on its own, leaving out the ones that fail.
        var read: [((ProviderPath, String), String)] = []
        if let values = try? await provider.values(of: paths.map(\.0)) {
            read = Array(zip(paths, values))
        } else {
            for path in paths {
                do {
                    if let value = try await provider.values(of: [path.0]).first { read.append((path, value)) }
                } catch let error as SNMPBridgeError where error.code == .timedOut {
                    throw error  // the agent went away: do not wait once per parameter
                } catch {
                    continue
                }
            }
        }
        return read.map { path, value in
            SNMPDiscoverReport.Parameter(name: path.1, value: value,
                                         instanceKeys: path.0.instanceKeys.isEmpty ? nil : path.0.instanceKeys)
        }.sorted { naturallyPrecedes($0.name, $1.name) }
    }

    /// Name order with instance numbers compared as numbers (Process.2 before Process.10).
    static func naturallyPrecedes(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: "."), right = rhs.split(separator: ".")
        for (a, b) in zip(left, right) where a != b {
            if let x = Int(a), let y = Int(b) { return x < y }
            return a < b
        }
        return left.count < right.count
    }

    static func printText(_ reports: [SNMPDiscoverReport]) {
        for report in reports {
            print("SNMP agent \(report.agent)")
            if let error = report.error { print("  error: \(error)") }
            if let sysName = report.sysName { print("  sysName: \(sysName)") }
            if let sysDescr = report.sysDescr { print("  sysDescr: \(sysDescr)") }
            if let sysObjectID = report.sysObjectID { print("  sysObjectID: \(sysObjectID)") }
            if let identity = report.identity {
                print("  identity: OUI \(identity.manufacturerOUI), ProductClass \(identity.productClass), SerialNumber \(identity.serialNumber)")
            }
            print("  profiles: \(report.profiles.joined(separator: ", "))")
            for parameter in report.parameters { print("  \(parameter.name) = \(parameter.value)") }
        }
    }
}
