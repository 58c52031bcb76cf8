// Fan-out of settings changes to any number of subscribers as AsyncStreams. A change is yielded to every stream
// before the call that made it returns, so a subscriber that awaits the next element after a SetParameterValues
// is guaranteed to see it. Streams buffer without limit: settings change a few times a day, and dropping one
// (a new ACS URL, new credentials) would leave the agent acting on stale values.
import Synchronization

final class ChangeBroadcaster<Element: Sendable>: Sendable {
    private struct State {
        var nextID = 0
        var continuations: [Int: AsyncStream<Element>.Continuation] = [:]
    }

    private let state = Mutex(State())

    /// A new stream of every change published from now on; it ends when the subscriber stops iterating.
    func subscribe() -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .unbounded)
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.continuations[state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ element: Element) {
        let continuations = state.withLock { Array($0.continuations.values) }
        for continuation in continuations { continuation.yield(element) }
    }

    var subscriberCount: Int { state.withLock { $0.continuations.count } }

    deinit {
        for continuation in state.withLock({ Array($0.continuations.values) }) { continuation.finish() }
    }
}
