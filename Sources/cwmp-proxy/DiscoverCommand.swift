import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import UPnPDM

/// `cwmp-proxy discover --upnp`: one look at the LAN, without an ACS. Each discovery mechanism is a flag of this one
/// command, so the operator sees every manageable device the proxier would find with one invocation.
struct DiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Find the manageable devices on a LAN interface and print what the proxier would expose for each.",
        discussion: """
            --upnp searches for UPnP Device Management devices (ManageableDevice:2, or any device with a \
            ConfigurationManagement, BasicManagement or SoftwareManagement service) and prints, per device, its \
            identity, its services and the TR-181 parameters it would expose with their current values. \
            Exit status 0 when the search ran, even if it found nothing.
            --snmp HOST[:PORT]… reads SNMP agents (v2c community or SNMPv3 user) and prints, per agent, its \
            identity, the matched profiles and every TR-181 parameter they map with its current value; exit \
            status 2 when an agent could not be read.
            """
    )

    @Flag(help: "Search for UPnP DM devices (SSDP on the given interfaces, then CMS/BMS/SMS).")
    var upnp = false

    @Option(name: .customLong("interface"),
            help: "A LAN interface, by name (br-lan) or address; repeat for several. Nothing is sent elsewhere.")
    var interfaces: [String] = []

    @Option(help: "The M-SEARCH MX in seconds (1…5): how long devices may take to answer.")
    var mx = 2

    @Option(help: "Seconds to collect search answers (default MX + 1; at most MX + 10).")
    var timeout: Double?

    @Option(help: "Seconds allowed for reading one device (description, identity, parameters).")
    var deviceTimeout: Double = 20

    @Option(help: "The OUI used for a device that states none (the identity rule's fallback).")
    var fallbackOUI = "000000"

    @OptionGroup(title: "SNMP") var snmp: SNMPDiscoverOptions

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @Flag(help: "Log discovery progress to standard error.")
    var verbose = false

    func validate() throws {
        guard upnp || !snmp.hosts.isEmpty else {
            throw ValidationError("Say what to discover: --upnp and/or --snmp HOST[:PORT]….")
        }
        guard upnp else { return }
        guard !interfaces.isEmpty else {
            throw ValidationError("--interface is required: discovery never guesses an interface (multicast would follow the default route).")
        }
        guard (1...5).contains(mx) else { throw ValidationError("--mx must be 1…5 (UPnP Device Architecture 1.1).") }
        if let timeout, !(Double(mx)...Double(mx + 10)).contains(timeout) {
            throw ValidationError("--timeout must be between MX (\(mx)) and MX + 10 seconds.")
        }
        guard deviceTimeout > 0, deviceTimeout <= 120 else { throw ValidationError("--device-timeout must be 0…120 seconds.") }
    }

    func run() async throws {
        // The SNMP half (SNMPDiscoverCommand.swift) runs alone when --upnp is not given.
        let snmpReports = snmp.hosts.isEmpty ? nil : try await SNMPDiscoverRunner.reports(for: snmp)
        let snmpFailed = snmpReports?.contains(where: { $0.error != nil }) == true
        guard upnp else {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(DiscoverDocument(snmp: snmpReports)), as: UTF8.self))
            } else {
                SNMPDiscoverRunner.printText(snmpReports ?? [])
            }
            if snmpFailed { throw ExitCode(2) }
            return
        }
        var logger = Logger(label: "cwmp-proxy.discover")
        logger.logLevel = verbose ? .info : .critical
        let configuration = UPnPDMSurvey.Configuration(
            interfaces: interfaces, mx: mx, searchWait: timeout.map { .milliseconds(Int($0 * 1000)) },
            deviceTimeout: .milliseconds(Int(deviceTimeout * 1000)), fallbackOUI: fallbackOUI)
        let reports: [UPnPDMSurveyReport]
        do {
            reports = try await UPnPDMSurvey.run(configuration, logger: logger)
        } catch {
            var standardError = StandardError()
            print("cwmp-proxy discover: \(error.reason)", to: &standardError)
            throw ExitCode(2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(DiscoverDocument(upnp: reports, snmp: snmpReports)), as: UTF8.self))
        } else {
            print(Self.text(reports, interfaces: interfaces), terminator: "")
            if let snmpReports { SNMPDiscoverRunner.printText(snmpReports) }
        }
        if snmpFailed { throw ExitCode(2) }
    }

    /// The human form: one block per device.
    static func text(_ reports: [UPnPDMSurveyReport], interfaces: [String]) -> String {
        var out = "UPnP DM devices on \(interfaces.joined(separator: ", ")): \(reports.count)\n"
        for report in reports {
            out += "\n\(report.udn)\(report.friendlyName.map { " (\($0))" } ?? "")\n"
            out += "  location    \(report.location)\n"
            out += "  server      \(report.server)\n"
            if let bootId = report.bootId { out += "  bootId      \(bootId)\n" }
            if let deviceType = report.deviceType { out += "  deviceType  \(deviceType)\n" }
            if let identity = report.identity {
                out += "  identity    \(identity.manufacturerOUI)-\(identity.productClass)-\(identity.serialNumber)"
                out += " (manufacturer \(identity.manufacturer); OUI from \(identity.source.manufacturerOUI),"
                out += " ProductClass from \(identity.source.productClass), SerialNumber from \(identity.source.serialNumber))\n"
            }
            if !report.services.isEmpty {
                out += "  services\n"
                for service in report.services { out += "    \(service.serviceType)  \(service.controlURL)\n" }
            }
            if !report.parameters.isEmpty {
                out += "  parameters (\(report.parameters.count))\n"
                for parameter in report.parameters { out += "    \(parameter.name) = \(parameter.value)  [\(parameter.type)]\n" }
            }
            if let error = report.error { out += "  error       \(error)\n" }
        }
        return out
    }
}

/// The `--json` document: one key per discovery mechanism.
struct DiscoverDocument: Encodable {
    var upnp: [UPnPDMSurveyReport]? = nil
    var snmp: [SNMPDiscoverReport]? = nil
}

/// `print(…, to:)` for standard error.
private struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        // File descriptor 2 directly: Glibc's `stderr` is a global var, which Swift 6 refuses.
        var bytes = Array(string.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
