// A time budget for one RPC. The ACS gives up on a CPE after about 30 s (TR-069 §3.7; CATA request_timeout=30),
// so an RPC stuck behind a slow SNMP agent or UPnP device must still be answered, with 9002, before that.
import Synchronization

/// Runs `operation` and returns its result, or `nil` once `budget` has passed on `clock` (or the calling task is
/// cancelled) without one.
///
/// A task group races the operation against a sleep; the loser is cancelled. Providers are expected to honour
/// cancellation, but one waiting on a device that ignores it must not hold the answer hostage, and a task group
/// waits for all its children. So the operation runs in a task of its own that the group's child merely waits
/// for: when the deadline passes, the child stops waiting at once and cancels it. An abandoned operation finishes
/// whenever its provider returns, and what it did by then stands — the same as a provider failing half-way
/// through a SetParameterValues (see `DataModel.setParameterValues`).
func withDeadline<T: Sendable>(_ budget: Duration, on clock: any Clock<Duration>,
                               _ operation: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await abandonOnCancellation(operation) }
        group.addTask {
            // Cancelled when the operation wins; either way this child's answer is "no result".
            try? await clock.sleep(for: budget)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Waits for `operation`, run in its own task, until it finishes or the waiting task is cancelled.
private func abandonOnCancellation<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T? {
    let slot = ResultSlot<T>()
    let task = Task { slot.fill(await operation()) }
    return await withTaskCancellationHandler {
        await withCheckedContinuation { slot.wait(with: $0) }
    } onCancel: {
        task.cancel()
        slot.fill(nil)
    }
}

/// A result handed from one task to a waiting one exactly once, whichever of the two arrives first; later
/// results (the operation finishing after the wait was abandoned) are dropped.
private final class ResultSlot<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T?, Never>)
        case filled(T?)
        case delivered
    }

    private let state = Mutex<State>(.empty)

    func fill(_ value: T?) {
        let waiter: CheckedContinuation<T?, Never>? = state.withLock { state in
            switch state {
            case .empty:
                state = .filled(value)
                return nil
            case .waiting(let continuation):
                state = .delivered
                return continuation
            case .filled, .delivered:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }

    func wait(with continuation: CheckedContinuation<T?, Never>) {
        let ready: T?? = state.withLock { state in
            switch state {
            case .empty:
                state = .waiting(continuation)
                return .none
            case .filled(let value):
                state = .delivered
                return .some(value)
            case .waiting, .delivered:
                preconditionFailure("a ResultSlot has one waiter")
            }
        }
        if case .some(let value) = ready { continuation.resume(returning: value) }
    }
}
