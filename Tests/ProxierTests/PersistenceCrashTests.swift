import Foundation
import Testing
@testable import Proxier

/// Real crashes: the test binary re-executes itself (`CommandLine.arguments[0]`) with `CrashChild.modeVariable` set,
/// which enables only `crashChildEntryPoint`; that child writes through `AgentStore` and reports on stdout what it
/// committed, and the parent kills it with SIGKILL and checks what the reopened store holds.
///
/// No helper executable and no foreign writer: the child runs exactly the code under test.
@Suite struct PersistenceCrashTests {
    /// Batches of three events plus a value and a counter, each batch one `apply` of five statements; SIGKILL after
    /// a random number of reported batches, so the kill lands at a different statement of a batch each run (the
    /// child commits a few thousand batches a second).
    @Test(arguments: 0..<3) func aSIGKILLLosesNoReportedCommitAndTearsNoBatch(run: Int) async throws {
        try await withTemporaryStateDirectory { directory in
            let minimumBatches = Int.random(in: 200...2_000)
            let lines = try await CrashChild.run(mode: .batches, directory: directory) { lines in
                lines.filter { $0.hasPrefix("COMMITTED ") }.count >= minimumBatches
            }
            let reported = lines.compactMap { line in
                line.hasPrefix("COMMITTED ") ? Int(line.dropFirst("COMMITTED ".count)) : nil
            }
            #expect(reported.count >= minimumBatches)
            let lastReported = try #require(reported.last)
            #expect(reported == Array(1...lastReported), "the child reports every batch, in order")

            try await withStore(in: directory) { store throws in
                #expect(try await store.rawQuery("PRAGMA integrity_check").first?["integrity_check"] == "ok")
                let snapshot = try #require(try await store.load("gateway"))
                var batches: [Int: [String]] = [:]
                for event in snapshot.pendingEvents {
                    let parts = event.commandKey.split(separator: "-")
                    let batch = try #require(parts.count == 2 ? Int(parts[0].dropFirst()) : nil, "\(event)")
                    batches[batch, default: []].append(String(parts[1]))
                }
                let committed = batches.keys.sorted()
                // Every batch the child reported is there…
                #expect(Set(1...lastReported).isSubset(of: Set(committed)))
                // …and the batches form a prefix: at most the one in flight at the kill is extra (committed, not yet
                // reported), and none is torn.
                #expect(committed == Array(1...(committed.last ?? 0)))
                #expect((committed.last ?? 0) - lastReported <= 1)
                for (batch, members) in batches {
                    #expect(members == ["0", "1", "2"], "batch \(batch) is torn: \(members)")
                }
                let newest = committed.last ?? 0
                // The value and the counter were written in the same transactions as the events.
                #expect(snapshot.parameterValues["Device.X_TEST_Batch"]?.value == "\(newest)")
                #expect(snapshot.instanceCounters["Device.X_TEST_Table."] == UInt32(newest + 1))
                // Sequence numbers follow commit order.
                #expect(snapshot.pendingEvents.map(\.sequence) == snapshot.pendingEvents.map(\.sequence).sorted())
            }
        }
    }

    /// The child reads the pending events (its Inform), receives the InformResponse, and is killed before it
    /// acknowledges. The next start must send the same events again: at-least-once in the store, and since the
    /// session layer deletes only after the InformResponse, no event is ever lost.
    @Test func aSIGKILLBetweenInformResponseAndAcknowledgmentRedelivers() async throws {
        try await withTemporaryStateDirectory { directory in
            let lines = try await CrashChild.run(mode: .informThenHang, directory: directory) { lines in
                lines.contains("INFORMRESPONSE")
            }
            let informLine = try #require(lines.first { $0.hasPrefix("INFORM ") })
            let sentSequences = informLine.dropFirst("INFORM ".count).split(separator: ",").compactMap { Int64($0) }
            #expect(sentSequences.count == 3)

            try await withStore(in: directory) { store throws in
                let redelivered = try await store.pendingEvents(of: "vd-1")
                #expect(redelivered.map(\.sequence) == sentSequences)
                #expect(redelivered.map(\.code) == ["1 BOOT", "M Reboot", "7 TRANSFER COMPLETE"])
                #expect(redelivered.first { $0.code == "M Reboot" }?.commandKey == "reboot-42")
                // This session's InformResponse arrives and the acknowledgment commits.
                try await store.acknowledgeEvents(of: "vd-1", upTo: sentSequences.max() ?? 0)
            }
            try await withStore(in: directory) { store throws in
                #expect(try await store.pendingEvents(of: "vd-1").isEmpty)
            }
        }
    }

    /// Runs only inside the child process.
    @Test(.enabled(if: CrashChild.mode != nil)) func crashChildEntryPoint() async throws {
        let directory = try #require(ProcessInfo.processInfo.environment[CrashChild.directoryVariable])
        let store = try await AgentStore.open(directory: directory)
        switch CrashChild.mode {
        case .batches?:
            try await store.createAgent("gateway")
            var batch = 0
            while true {
                batch += 1
                try await store.apply([
                    .appendEvent(code: "M Download", commandKey: "b\(batch)-0"),
                    .setValue(path: "Device.X_TEST_Batch", StoredParameterValue(value: "\(batch)", type: "unsignedInt")),
                    .appendEvent(code: "X 00D09E Test", commandKey: "b\(batch)-1"),
                    .raiseInstanceCounter(table: "Device.X_TEST_Table.", next: UInt32(batch + 1)),
                    .appendEvent(code: "7 TRANSFER COMPLETE", commandKey: "b\(batch)-2"),
                ], to: "gateway")
                CrashChild.report("COMMITTED \(batch)")
            }
        case .informThenHang?:
            try await store.createAgent("vd-1")
            try await store.apply([
                .appendEvent(code: "1 BOOT", commandKey: ""),
                .appendEvent(code: "M Reboot", commandKey: "reboot-42"),
                .appendEvent(code: "7 TRANSFER COMPLETE", commandKey: ""),
            ], to: "vd-1")
            let inform = try await store.pendingEvents(of: "vd-1")
            CrashChild.report("INFORM " + inform.map { String($0.sequence) }.joined(separator: ","))
            CrashChild.report("INFORMRESPONSE")
            // The parent kills us here, before `acknowledgeEvents`.
            while true { try await Task.sleep(for: .seconds(1)) }
        case .queueRequestThenHang?:
            // AgentPersistenceTests.transferCompleteSurvivesSIGKILL.
            try await AgentCrashChild.queueTransferCompleteThenHang(directory: directory)
        case .valueChangesThenHang?:
            // AgentGapsTests.valueChangesSurviveSIGKILL.
            try await ValueChangeCrashChild.recordValueChangesThenHang(directory: directory)
        case .scheduleInformThenHang?:
            // AgentGapsTests.scheduledInformSurvivesSIGKILLMidSession.
            try await ScheduleInformCrashChild.answerScheduleInformThenHang(directory: directory)
        case nil:
            Issue.record("crashChildEntryPoint runs only in a child process")
        }
    }
}

enum CrashChild {
    enum Mode: String {
        case batches
        case informThenHang
        case queueRequestThenHang
        case valueChangesThenHang
        case scheduleInformThenHang
    }

    static let modeVariable = "CWMP_PROXY_STORE_CRASH_CHILD"
    static let directoryVariable = "CWMP_PROXY_STORE_CRASH_DIRECTORY"

    static var mode: Mode? { ProcessInfo.processInfo.environment[modeVariable].flatMap(Mode.init(rawValue:)) }

    /// One line on stdout, written with write(2) at once: a buffered print could still sit in the process when the
    /// SIGKILL arrives, and the parent must see every line the child got past.
    static func report(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Starts the child, collects its stdout lines, SIGKILLs it as soon as `killWhen` holds (or after a minute, which
    /// fails the test), and returns every line it wrote.
    static func run(mode: Mode, directory: String, killWhen: @escaping @Sendable ([String]) -> Bool) async throws
        -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        // Swift Testing's entry point; the filter names the one test that runs, the rest are not even started.
        process.arguments = ["--testing-library", "swift-testing", "--filter", "crashChildEntryPoint"]
        var environment = ProcessInfo.processInfo.environment
        environment[modeVariable] = mode.rawValue
        environment[directoryVariable] = directory
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        let errorLog = URL(fileURLWithPath: directory + ".child-stderr")
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorLog) }
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()

        let pid = process.processIdentifier
        let reader = output.fileHandleForReading
        // A child that stalls writes nothing, so the reader below would block forever: a watchdog kills it.
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }

        // Blocking reads on a thread of their own, not on the cooperative pool.
        let (lines, killedOnCue) = await withCheckedContinuation { (continuation: CheckedContinuation<([String], Bool), Never>) in
            Thread.detachNewThread {
                var buffer = Data(), lines: [String] = [], killedOnCue = false
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }   // EOF: the child is gone
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                        buffer.removeSubrange(buffer.startIndex...newline)
                    }
                    if !killedOnCue, killWhen(lines) {
                        kill(pid, SIGKILL)
                        killedOnCue = true
                    }
                }
                continuation.resume(returning: (lines, killedOnCue))
            }
        }
        process.waitUntilExit()
        let childErrors = (try? String(contentsOf: errorLog, encoding: .utf8)) ?? ""
        #expect(killedOnCue, "the child stopped or stalled before the cue; its stderr:\n\(childErrors)")
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
                "the child was not killed by SIGKILL; its stderr:\n\(childErrors)")
        return lines
    }
}
