import ArgumentParser
import CWMPClient
import Logging
import Proxier

@main
struct CWMPProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cwmp-proxy",
        abstract: "A TR-069 (CWMP) proxier: UPnP DM and SNMP devices managed from an ACS (TR-069 Annex J).",
        version: CWMPProxyVersion.current,
        subcommands: [RunCommand.self, DemoCommand.self, DiscoverCommand.self, ProfileCommand.self, Mib2ProfileCommand.self]
    )
}

enum CWMPProxyVersion {
    static let current = "0.1.0"
}
