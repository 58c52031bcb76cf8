import ArgumentParser
import FoundationEssentials
import SNMPBridge
#if canImport(Glibc)
import Glibc
#endif

/// `cwmp-proxy mib2profile MODULE… [--mib-dir DIR]… [--output FILE]`: drafts a mapping profile from MIB modules,
/// parsed by net-snmp's MIB parser, for an integrator to edit (docs/snmp-profiles.md, "Drafting a profile").
struct Mib2ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mib2profile",
        abstract: "Draft an SNMP mapping profile from MIB modules.",
        discussion: """
            Conceptual tables become multi-instance objects (ifTable → Device.X_MIB_IfTable.{i}.), their columns \
            parameters, scalars one object per parent node (sysDescr → Device.X_MIB_System.SysDescr), with TR-106 \
            types, conversions and writability from the MIB. The draft passes `cwmp-proxy profile lint` with the \
            same --mib-dir. MIB search path: MIBDIRS (or net-snmp's default), then each --mib-dir.
            """
    )

    @Argument(help: "MIB module names (IF-MIB HOST-RESOURCES-MIB).")
    var modules: [String]

    @Option(name: .customLong("mib-dir"), help: "A directory of MIB files; repeatable. Searched after MIBDIRS, so its modules win.")
    var mibDirectories: [String] = []

    @Option(name: .shortAndLong, help: "Write the profile to this file instead of standard output.")
    var output: String?

    @Option(help: "Vendor-extension prefix of the drafted objects (TR-106 X_<vendor>_).")
    var prefix: String = "X_MIB_"

    @Flag(name: .customLong("numeric-oids"), help: "Numeric OIDs (symbol in label) instead of MIB symbols: the profile then needs no MIB files to load.")
    var numericOIDs = false

    func validate() throws {
        guard !modules.isEmpty else { throw ValidationError("Name at least one MIB module.") }
        guard SNMPProfileDrafter.isValidPrefix(prefix) else {
            throw ValidationError("--prefix must look like X_VENDOR_ (letters, digits, - and _).")
        }
    }

    func run() async throws {
        let searchPath = SNMPMIBSearchPath.standard(mibDirectories: mibDirectories)
        let draft: SNMPProfileDrafter.Draft
        do {
            let loaded = try await SNMPMIB.loadModules(modules, searchPath: searchPath)
            draft = try SNMPProfileDrafter(prefix: prefix, numericOIDs: numericOIDs).draft(loaded)
        } catch {
            printToStandardError("mib2profile: \(error.reason)")
            throw ExitCode(1)
        }
        if let output {
            do {
                try Data(draft.json.utf8).write(to: URL(filePath: output))
            } catch {
                printToStandardError("mib2profile: cannot write \(output)")
                throw ExitCode(1)
            }
        } else {
            print(draft.json, terminator: "")
        }
        for note in draft.notes { printToStandardError("note: \(note)") }
        printToStandardError("mib2profile: \(draft.tables) tables (\(draft.columns) parameters), \(draft.scalars) scalars"
                   + (output.map { " written to \($0)" } ?? ""))
    }
}

/// One line on standard error (the profile itself may be on standard output).
func printToStandardError(_ line: String) {
    // File descriptor 2 directly: Glibc's `stderr` is a global var, which Swift 6 refuses.
    var bytes = Array((line + "\n").utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}
