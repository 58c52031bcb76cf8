// `cwmp-proxy mib2profile` and `profile lint --mib-dir` as real processes, against the IETF modules in
// ../shared/data/mibs: every draft passes lint with the same --mib-dir, and missing or broken modules end with a
// message naming them and exit status 1.
// Foundation is fine here: tests only.
import Foundation
import SNMPBridge
import Testing

/// The IETF MIB modules next to the checkout (`../shared/data/mibs`), or nil.
private let mibDirectory: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.deletingLastPathComponent().appendingPathComponent("shared/data/mibs").path
    return FileManager.default.fileExists(atPath: directory + "/IF-MIB.txt") ? directory : nil
}()

@Suite(.enabled(if: mibDirectory != nil, "../shared/data/mibs (the IETF MIB modules) is not next to the checkout"))
struct Mib2ProfileCommandTests {
    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mib2profile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test(arguments: [("IF-MIB", "Device.X_MIB_IfTable.{i}."), ("HOST-RESOURCES-MIB", "Device.X_MIB_HrSWRunTable.{i}."),
                      ("SNMPv2-MIB", "Device.X_MIB_SysORTable.{i}.")])
    func draftsPassLint(module: String, table: String) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("\(module).json").path
        let draft = try await CLIRun.run(["mib2profile", module, "--mib-dir", mibDirectory!, "--output", file])
        #expect(draft.status == 0, "stderr: \(draft.standardError)")
        #expect(draft.standardOutput.isEmpty)
        #expect(draft.standardError.contains("written to \(file)"), "\(draft.standardError)")
        let profile = try SNMPProfileCompiler.decode(json: try String(contentsOfFile: file, encoding: .utf8))
        #expect(profile.tables.contains { $0.object == table }, "\(profile.tables.map(\.object))")
        #expect(profile.objectNames.contains { $0.hasPrefix("\(module)::") }, "names are MIB symbols")

        let lint = try await CLIRun.run(["profile", "lint", file, "--mib-dir", mibDirectory!])
        #expect(lint.status == 0, "stdout: \(lint.standardOutput) stderr: \(lint.standardError)")
        #expect(lint.standardOutput.contains("\(file): ok: profile draft-\(module.lowercased()):"), "\(lint.standardOutput)")
    }

    @Test func numericDraftsOnStandardOutputNeedNoMIBs() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let draft = try await CLIRun.run(["mib2profile", "SNMPv2-MIB", "--mib-dir", mibDirectory!, "--numeric-oids",
                                          "--prefix", "X_ACME-COM_"])
        #expect(draft.status == 0, "stderr: \(draft.standardError)")
        #expect(draft.standardOutput.contains(#""parameter" : "Device.X_ACME-COM_System.SysName""#), "\(draft.standardOutput)")
        #expect(draft.standardOutput.contains(#""oid" : "1.3.6.1.2.1.1.5.0""#))
        let file = directory.appendingPathComponent("numeric.json").path
        try draft.standardOutput.write(toFile: file, atomically: true, encoding: .utf8)
        // No --mib-dir: numeric OIDs are never looked up.
        let lint = try await CLIRun.run(["profile", "lint", file])
        #expect(lint.status == 0, "stdout: \(lint.standardOutput)")
    }

    @Test func mibdirsIsTheSearchPathWithoutMibDir() async throws {
        // The environment variable alone, as net-snmp's tools read it; stdout goes to a file the test reads.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outPath = directory.appendingPathComponent("out.json").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
        process.arguments = ["mib2profile", "SNMPv2-MIB"]
        process.environment = ["MIBDIRS": mibDirectory!, "PATH": "/usr/bin:/bin"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let json = try String(contentsOfFile: outPath, encoding: .utf8)
        #expect(json.contains(#""oid" : "SNMPv2-MIB::sysName.0""#), "\(json.prefix(300))")
        // And without it (and no --mib-dir) the module is not found: Debian's default directories hold no IETF MIBs
        // (unless snmp-mibs-downloader or the user put some there, or MIBDIRS is set for the whole test run).
        let defaults = SNMPMIBSearchPath.standard(mibDirectories: [], environment: nil).directories
        let elsewhere = defaults.contains { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains { $0.hasPrefix("SNMPv2-MIB") }
        }
        guard !elsewhere, ProcessInfo.processInfo.environment["MIBDIRS"] == nil else { return }
        let run = try await CLIRun.run(["mib2profile", "SNMPv2-MIB", "--mib-dir", directory.path])
        #expect(run.status == 1, "\(run.standardOutput.prefix(200))")
        #expect(run.standardError.contains("not found"), "\(run.standardError)")
    }

    @Test func anUnknownModuleIsNamed() async throws {
        let run = try await CLIRun.run(["mib2profile", "NO-SUCH-MIB", "--mib-dir", mibDirectory!])
        #expect(run.status == 1)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.contains("NO-SUCH-MIB"), "\(run.standardError)")
        #expect(run.standardError.contains("not found"), "\(run.standardError)")
    }

    @Test func aMalformedModuleIsNamedWithNetSNMPsMessage() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            CLI-BROKEN-MIB DEFINITIONS ::= BEGIN
            IMPORTS OBJECT-TYPE, mib-2 FROM SNMPv2-SMI;
            broken OBJECT-TYPE SYNTAX ((( ::= { mib-2
            """.write(to: directory.appendingPathComponent("CLI-BROKEN-MIB.txt"), atomically: true, encoding: .utf8)
        let run = try await CLIRun.run(["mib2profile", "CLI-BROKEN-MIB", "--mib-dir", mibDirectory!, "--mib-dir", directory.path])
        #expect(run.status == 1)
        #expect(run.standardError.contains("CLI-BROKEN-MIB"), "\(run.standardError)")
        #expect(run.standardError.contains("At line"), "net-snmp's own message: \(run.standardError)")
    }

    @Test func lintNamesUnresolvableSymbolsWithTheirKey() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json").path
        try #"""
            { "name": "symbols", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "SNMPv2-MIB::sysName.0",
              "conversion": "displayString", "writable": true } ],
              "tables": [ { "object": "Device.Ethernet.Interface.{i}.", "indexColumn": "IF-MIB::ifIndex",
                            "columns": [ { "parameter": "Name", "oid": "IF-MIB::ifDescr" } ] } ] }
            """#.write(toFile: good, atomically: true, encoding: .utf8)
        let bad = directory.appendingPathComponent("bad.json").path
        try #"""
            { "name": "typo", "tables": [ { "object": "Device.Ethernet.Interface.{i}.", "indexColumn": "IF-MIB::ifIndex",
              "columns": [ { "parameter": "Name", "oid": "IF-MIB::ifDescrr" } ] } ] }
            """#.write(toFile: bad, atomically: true, encoding: .utf8)
        let run = try await CLIRun.run(["profile", "lint", good, bad, "--mib-dir", mibDirectory!])
        #expect(run.status == 1)
        #expect(run.standardOutput.contains("\(good): ok: profile symbols:"), "\(run.standardOutput)")
        let badLine = run.standardOutput.split(separator: "\n").first { $0.hasPrefix("\(bad): invalid: ") }
        #expect(badLine?.contains("tables[0].columns[0].oid") == true, "\(run.standardOutput)")
        #expect(badLine?.contains("IF-MIB::ifDescrr") == true, "\(run.standardOutput)")
    }
}
