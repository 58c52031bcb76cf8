// Download (TR-069 §A.3.2.8) on the gateway agent, end to end: the ACS peer queues the Download, the agent fetches
// the file from a real HTTP server the test starts (Python's http.server, from the test venv), runs the FileType's
// hook, and reports TransferComplete with `7 TRANSFER COMPLETE` + `M Download` in a later session. Failures are
// reported with their fault, never as success. Foundation is fine here: tests only.
import Foundation
import CWMPClient
import CWMPTestSupport
import Logging
import Testing
@testable import Proxier
#if canImport(Glibc)
import Glibc
#endif

@Suite("Download on the gateway agent", .serialized, .requiresACSPeer)
struct AgentDownloadTests {
    private static let device = AgentHarness.deviceID
    private static let firmware = "1 Firmware Upgrade Image"

    /// A hook that copies the file it is given to `destination` and exits with `status`.
    private func writeHook(copyingTo destination: String, status: Int = 0) throws -> String {
        let path = try makeTemporaryStateDirectory() + "-hook.sh"
        try "#!/bin/sh\ncp \"$1\" '\(destination)' || exit 99\nprintf '%s|%s' \"$2\" \"$3\" > '\(destination).args'\nexit \(status)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private struct Setup {
        let peer: ACSPeer
        let files: StaticFileServer
        let harness: AgentHarness
        let actions: DownloadActions
        let record: String
    }

    private func start(hooks: [String: String]) async throws -> Setup {
        let peer = try ACSPeer(arguments: ["--max-sessions", "1000"])
        let files = try StaticFileServer()
        let directory = try makeTemporaryStateDirectory()
        let actions = DownloadActions(configuration: .init(directory: directory + "/downloads", hooks: hooks,
                                                           maximumFileSize: 1 << 20, timeLimit: .seconds(30)))
        let harness = try await AgentHarness.make(peer: peer, directory: directory, actions: actions)
        actions.attach(harness.agent)
        try await harness.agent.start()
        #expect(await harness.sessions(1))
        let record = try makeTemporaryStateDirectory() + "-record"
        try peer.control("POST", "/record", ["dir": record])
        return Setup(peer: peer, files: files, harness: harness, actions: actions, record: record)
    }

    /// Queues the Download, sends a Connection Request, and returns the DownloadResponse (or fault) recorded.
    private func download(_ setup: Setup, _ description: [String: Any], sessions: Int = 2) async throws -> [String: Any] {
        var rpc = description
        rpc["method"] = "Download"
        try setup.peer.control("POST", "/devices/\(Self.device)/rpcs", rpc)
        #expect(try setup.harness.connectionRequest()["status"] as? Int == 200)
        #expect(await setup.harness.sessions(sessions))
        let responses = try setup.peer.control("GET", "/devices/\(Self.device)/responses") as? [[String: Any]] ?? []
        return try #require(responses.last { $0["method"] as? String == "Download" })
    }

    /// The TransferCompletes the peer received: CommandKey, FaultCode, FaultString.
    private func transferCompletes(_ peer: ACSPeer) throws -> [(key: String, code: String, string: String)] {
        let requests = try peer.control("GET", "/devices/\(Self.device)/requests") as? [[String: Any]] ?? []
        return requests.filter { $0["method"] as? String == "TransferComplete" }.map { request in
            let args = request["args"] as? [String: Any] ?? [:]
            let fault = args["FaultStruct"] as? [String: Any] ?? [:]
            return (args["CommandKey"] as? String ?? "", fault["FaultCode"] as? String ?? "", fault["FaultString"] as? String ?? "")
        }
    }

    private func finish(_ setup: Setup, atLeast envelopes: Int) async throws {
        await setup.harness.shutdown()
        setup.files.stop()
        let names = try FileManager.default.contentsOfDirectory(atPath: setup.record).filter { $0.contains("-cpe-") }.sorted()
        #expect(names.count >= envelopes, "\(names)")
        guard XSDValidator.isAvailable else { return recordXSDValidationSkipped("envelopes") }
        let documents = try names.map { name in
            (name: name, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: setup.record + "/" + name))))
        }
        let failures = try XSDValidator.validate(documents)
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("Download accepted with Status 1, fetched, applied by the FileType's hook, then 7 TRANSFER COMPLETE + M Download")
    func downloadAppliedByTheHook() async throws {
        let applied = try makeTemporaryStateDirectory() + "-applied.bin"
        let setup = try await start(hooks: [Self.firmware: try writeHook(copyingTo: applied)])
        let content = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try content.write(to: URL(fileURLWithPath: setup.files.directory + "/fw.bin"))

        let answer = try await download(setup, ["command_key": "dl-1", "file_type": Self.firmware,
                                                "url": setup.files.url("fw.bin"), "file_size": content.count,
                                                "target_file_name": "fw.bin"])
        #expect(answer["response_method"] as? String == "DownloadResponse")
        #expect((answer["response"] as? [String: Any])?["Status"] as? String == "1")

        // The completion opens its own session: TransferComplete with FaultCode 0, announced by its events.
        #expect(await setup.harness.sessions(3))
        #expect(await eventually(30) { (try? transferCompletes(setup.peer).count) == 1 })
        let reports = try transferCompletes(setup.peer)
        #expect(reports.map(\.key) == ["dl-1"])
        #expect(reports.map(\.code) == ["0"])
        let events = setup.peer.lastInform(Self.device)?["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["code"] as? String == "7 TRANSFER COMPLETE" })
        #expect(events.contains { $0["code"] as? String == "M Download" && $0["command_key"] as? String == "dl-1" })
        // The hook got the fetched bytes, the FileType and the TargetFileName; the fetched file is gone.
        #expect(try Data(contentsOf: URL(fileURLWithPath: applied)) == content)
        #expect(try String(contentsOfFile: applied + ".args", encoding: .utf8) == "\(Self.firmware)|fw.bin")
        #expect(try FileManager.default.contentsOfDirectory(atPath: setup.actions.configuration.directory).isEmpty)
        // Reported and acknowledged: the transfer and the request are gone from the store.
        #expect(try await setup.harness.agent.pendingTransfers().isEmpty)
        #expect(await setup.harness.agent.pendingRequests.isEmpty)
        #expect(await eventually(30) { setup.actions.activeDownloads == 0 })
        let sent = try FileManager.default.contentsOfDirectory(atPath: setup.record)
        #expect(sent.contains { $0.contains("-cpe-DownloadResponse") }, "\(sent)")
        #expect(sent.contains { $0.contains("-cpe-TransferComplete") }, "\(sent)")
        try await finish(setup, atLeast: 3)
    }

    @Test("failures are reported with their fault, never as success",
          arguments: [
            // No hook for the FileType: refused without fetching.
            ("2 Web Content", "fw.bin", 0, "9010"),
            // The file is not there.
            (firmware, "missing.bin", 0, "9016"),
            // FileSize announced differs from what arrives.
            (firmware, "fw.bin", 12_345, "9018"),
          ])
    func downloadFailures(fileType: String, name: String, fileSize: Int, expected: String) async throws {
        let applied = try makeTemporaryStateDirectory() + "-applied.bin"
        let setup = try await start(hooks: [Self.firmware: try writeHook(copyingTo: applied)])
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: setup.files.directory + "/fw.bin"))

        let answer = try await download(setup, ["command_key": "dl-f", "file_type": fileType,
                                                "url": setup.files.url(name), "file_size": fileSize])
        #expect((answer["response"] as? [String: Any])?["Status"] as? String == "1")
        #expect(await setup.harness.sessions(3))
        #expect(await eventually(30) { (try? transferCompletes(setup.peer).count) == 1 })
        let reports = try transferCompletes(setup.peer)
        #expect(reports.map(\.key) == ["dl-f"])
        #expect(reports.map(\.code) == [expected], "\(reports.map(\.string))")
        #expect(!FileManager.default.fileExists(atPath: applied), "the hook ran although the download failed")
        try await finish(setup, atLeast: 3)
    }

    @Test("a hook that fails: TransferComplete 9010")
    func hookFailure() async throws {
        let applied = try makeTemporaryStateDirectory() + "-applied.bin"
        let setup = try await start(hooks: [Self.firmware: try writeHook(copyingTo: applied, status: 3)])
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: setup.files.directory + "/fw.bin"))
        _ = try await download(setup, ["command_key": "dl-h", "file_type": Self.firmware, "url": setup.files.url("fw.bin")])
        #expect(await setup.harness.sessions(3))
        #expect(await eventually(30) { (try? transferCompletes(setup.peer).count) == 1 })
        let report = try #require(try transferCompletes(setup.peer).first)
        #expect(report.code == "9010")
        #expect(report.string.contains("exit status 3"))
        try await finish(setup, atLeast: 3)
    }

    @Test("a URL that is not http(s): the Download itself fails with 9013 and nothing is recorded")
    func unsupportedProtocol() async throws {
        let setup = try await start(hooks: [Self.firmware: "/bin/true"])
        let answer = try await download(setup, ["command_key": "dl-ftp", "file_type": Self.firmware,
                                                "url": "ftp://127.0.0.1/fw.bin"])
        #expect((answer["fault"] as? [String: Any])?["code"] as? Int == 9013
                || (answer["fault"] as? [String: Any])?["code"] as? String == "9013", "\(answer)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await setup.harness.agent.pendingTransfers().isEmpty)
        #expect(await setup.harness.agent.sessionsEnded == 2)
        try await finish(setup, atLeast: 2)
    }

    @Test("a download recorded before a restart and never reported is reported failed (9010) after it, once")
    func interruptedByARestart() async throws {
        let setup = try await start(hooks: [:])
        // What a process that died mid-download leaves: the transfer recorded in progress, no TransferComplete.
        _ = try await setup.harness.agent.recordTransfer(PendingTransfer(
            commandKey: "dl-r", kind: .download, state: .inProgress, fileType: Self.firmware,
            url: setup.files.url("fw.bin"), startTime: "2026-11-23T10:00:00Z"))
        await setup.harness.agent.stop()
        setup.harness.environment.timer.stop()
        try? await setup.harness.connectionRequestServer.stop()
        try await setup.harness.store.close()

        // The next life: same state directory, new actions.
        let actions = DownloadActions(configuration: setup.actions.configuration)
        let second = try await AgentHarness.make(peer: setup.peer, directory: setup.harness.directory, actions: actions)
        actions.attach(second.agent)
        try await second.agent.start()
        #expect(await second.sessions(1))
        #expect(try await second.agent.pendingTransfers().map(\.transfer.commandKey) == ["dl-r"])
        await actions.reportInterruptedTransfers()
        #expect(await second.sessions(2))
        #expect(await eventually(30) { (try? transferCompletes(setup.peer).count) == 1 })
        let report = try #require(try transferCompletes(setup.peer).first)
        #expect(report.key == "dl-r" && report.code == "9010", "\(report)")
        #expect(try await second.agent.pendingTransfers().isEmpty)
        // Once: nothing left to report.
        await actions.reportInterruptedTransfers()
        #expect(try second.connectionRequest()["status"] as? Int == 200)
        #expect(await second.sessions(3))
        #expect(try transferCompletes(setup.peer).count == 1)
        try await finish(Setup(peer: setup.peer, files: setup.files, harness: second, actions: actions, record: setup.record),
                         atLeast: 3)
    }
}
