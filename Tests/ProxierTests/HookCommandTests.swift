// The Reboot / FactoryReset hook commands (`HookCommand`, `AgentHooks.commands`): run without a shell, with the
// agent's id and CommandKey in the environment, bounded by a timeout, and failures reported rather than thrown.
import Foundation
import Logging
import Testing
@testable import Proxier

@Suite("Hook commands")
struct HookCommandTests {
    @Test func theRebootHookRunsWithTheAgentAndCommandKeyInItsEnvironment() async throws {
        try await withTemporaryStateDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let marker = directory + "/reboot"
            let hooks = AgentHooks.commands(
                reboot: HookCommand(["/bin/sh", "-c", "printf '%s|%s|%s' \"$CWMP_HOOK\" \"$CWMP_AGENT_ID\" \"$CWMP_COMMAND_KEY\" > \"$1\"",
                                     "sh", marker]),
                factoryReset: nil, logger: Logger(label: "test.hooks"))
            await hooks.reboot("00D09E-gw-1", "rk-7")
            let written = try String(contentsOfFile: marker, encoding: .utf8)
            #expect(written == "reboot|00D09E-gw-1|rk-7")
            // No factory-reset command configured: nothing runs, nothing fails.
            await hooks.factoryReset("00D09E-gw-1")
        }
    }

    @Test func exitStatusSignalTimeoutAndAMissingProgramAreReported() async {
        #expect(await HookCommand(["/bin/sh", "-c", "exit 3"]).run(environment: [:]) == .exited(3))
        #expect(await HookCommand(["/bin/true"]).run(environment: [:]) == .exited(0))
        #expect(await HookCommand(["/bin/sh", "-c", "kill -TERM $$"]).run(environment: [:]) == .signalled(SIGTERM))
        #expect(await HookCommand(["/bin/sleep", "30"], timeout: .milliseconds(200)).run(environment: [:]) == .timedOut)
        #expect(await HookCommand(["/nonexistent/cwmp-proxy-hook"]).run(environment: [:]) == .notStarted(ENOENT))
        #expect(await HookCommand([]).run(environment: [:]) == .notStarted(EINVAL))
    }

    @Test func aCancelledCallerStillWaitsForTheCommand() async {
        let run = Task { await HookCommand(["/bin/sh", "-c", "sleep 0.3; exit 4"]).run(environment: [:]) }
        run.cancel()
        #expect(await run.value == .exited(4))
    }
}
