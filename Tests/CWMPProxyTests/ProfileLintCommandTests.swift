// `cwmp-proxy profile lint` as a real process: the built-in profiles pass, and each kind of mistake an integrator
// makes in a drafted profile is reported with the key at fault and exit status 1.
// Foundation is fine here: tests only.
import Foundation
import SNMPBridge
import Testing

@Suite struct ProfileLintCommandTests {
    func write(_ text: String, name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theBuiltInProfilesPass() async throws {
        var files: [String] = []
        for (name, text) in SNMPBuiltinProfiles.json { files.append(try write(text, name: "\(name).json")) }
        let run = try await CLIRun.run(["profile", "lint"] + files)
        #expect(run.status == 0, "stdout: \(run.standardOutput) stderr: \(run.standardError)")
        for (name, _) in SNMPBuiltinProfiles.json {
            #expect(run.standardOutput.contains("ok: profile \(name):"), "\(run.standardOutput)")
        }
    }

    @Test(arguments: [
        // A path the TR-181 schema does not have.
        (#"{"name": "p", "scalars": [{"parameter": "Device.DeviceInfo.NoSuchThing", "oid": "1.3.6.1.2.1.1.1.0"}]}"#,
         "scalars[0]"),
        // Not an OID.
        (#"{"name": "p", "scalars": [{"parameter": "Device.DeviceInfo.Description", "oid": "1.3.x"}]}"#, "scalars[0]"),
        // A MIB symbol whose module is in no directory of the search path (no --mib-dir; Debian ships no IETF MIBs).
        (#"{"name": "p", "scalars": [{"parameter": "Device.DeviceInfo.Description", "oid": "SNMPv2-MIB::sysDescr.0"}]}"#,
         "sysDescr"),
        // A key the format does not have.
        (#"{"name": "p", "scalarz": []}"#, "scalarz"),
        // Not JSON at all.
        ("{", "(top level)"),
    ])
    func mistakesNameTheirKey(profile: String, key: String) async throws {
        let good = try write(SNMPBuiltinProfiles.json[0].text, name: "good.json")
        let bad = try write(profile, name: "bad.json")
        let run = try await CLIRun.run(["profile", "lint", good, bad])
        #expect(run.status == 1)
        let badLine = run.standardOutput.split(separator: "\n").first { $0.hasPrefix("\(bad): invalid: ") }
        #expect(badLine?.contains(key) == true, "output: \(run.standardOutput)")
        #expect(run.standardOutput.contains("\(good): ok: "))
    }

    @Test func anUnreadableFileIsReported() async throws {
        let run = try await CLIRun.run(["profile", "lint", "/nonexistent/profile.json"])
        #expect(run.status == 1)
        #expect(run.standardOutput.contains("/nonexistent/profile.json: cannot be read"))
    }
}
