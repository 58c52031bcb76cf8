import ArgumentParser
import SNMPBridge

/// `cwmp-proxy profile lint FILE…`: checks SNMP mapping profiles (docs/snmp-profiles.md) the way the bridge loads
/// them: the JSON against the format, every OID and conversion, every TR-181 path against the generated schema.
/// Errors name the key at fault (`tables[0].columns[2].parameter`), so an integrator can fix a drafted profile
/// without reading code.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Work with SNMP → TR-181 mapping profiles.",
        subcommands: [Lint.self]
    )

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check SNMP mapping profiles; exit status 1 if any is invalid.",
            discussion: """
                Names may be numeric OIDs or MIB symbols (IF-MIB::ifDescr, SNMPv2-MIB::sysName.0), resolved by \
                net-snmp's MIB parser. MIB search path: MIBDIRS (or net-snmp's default), then each --mib-dir.
                """
        )

        @Argument(help: "Profile files (JSON).")
        var files: [String]

        @Option(name: .customLong("mib-dir"), help: "A directory of MIB files; repeatable. Searched after MIBDIRS, so its modules win.")
        var mibDirectories: [String] = []

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("Name at least one profile file.") }
        }

        func run() async throws {
            var invalid = 0
            let compiler = SNMPProfileCompiler()
            let searchPath = SNMPMIBSearchPath.standard(mibDirectories: mibDirectories)
            for file in files {
                let text: String
                do { text = try readTextFile(file) } catch {
                    print("\(file): cannot be read")
                    invalid += 1
                    continue
                }
                do {
                    let profile = try await compiler.compile(json: text, mibSearchPath: searchPath)
                    let parameters = profile.parameterTemplates.count
                    let extensions = profile.extensionObjects.isEmpty ? "" : ", \(profile.extensionObjects.count) vendor-extension objects"
                    print("\(file): ok: profile \(profile.name): \(profile.scalars.count) scalars, "
                          + "\(profile.tables.count) tables, \(parameters) parameters" + extensions)
                } catch {
                    print("\(file): invalid: \(error.reason)")
                    invalid += 1
                }
            }
            if invalid > 0 { throw ExitCode(1) }
        }
    }
}
