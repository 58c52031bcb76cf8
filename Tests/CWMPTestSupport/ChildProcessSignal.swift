// Signals to the children tests start. Foundation is fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends `signal` to a child started with `Process`, only while it runs. A `Process` that was never launched reports
/// pid 0, and `kill(0, …)` signals the whole process group: the test runner, `swift test`, the CI shell. A child that
/// has exited and been reaped may have its pid reused by an unrelated process.
public func signalChild(_ process: Process, _ signal: Int32) {
    let pid = process.processIdentifier
    guard pid > 0, process.isRunning else { return }
    kill(pid, signal)
}

/// Sends SIGKILL to a child started with `Process` (if it runs) and waits for it; nothing for one never launched
/// (`waitUntilExit` would trap on it). SIGKILL because children inherit the runner's signal mask, SIGTERM blocked.
public func killChild(_ process: Process) {
    guard process.processIdentifier > 0 else { return }
    signalChild(process, SIGKILL)
    process.waitUntilExit()
}
