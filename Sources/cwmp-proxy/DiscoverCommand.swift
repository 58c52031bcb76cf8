import ArgumentParser
import FoundationEssentials

/// `cwmp-proxy discover`: finds devices and prints what the proxier would expose for them, without an ACS.
/// (The SNMP half lives in SNMPDiscoverCommand.swift; the UPnP half, `--upnp`, is merged beside it.)
struct DiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Find devices and print their identity, matched profile and every TR-181 parameter with its value."
    )

    @OptionGroup var snmp: SNMPDiscoverOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard !snmp.hosts.isEmpty else { throw ValidationError("Nothing to discover: give --snmp HOST[:PORT]…") }
    }

    func run() async throws {
        let reports = try await SNMPDiscoverRunner.reports(for: snmp)
        if json {
            struct Output: Encodable { var snmp: [SNMPDiscoverReport] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(snmp: reports)), as: UTF8.self))
        } else {
            SNMPDiscoverRunner.printText(reports)
        }
        if reports.contains(where: { $0.error != nil }) { throw ExitCode(2) }
    }
}
