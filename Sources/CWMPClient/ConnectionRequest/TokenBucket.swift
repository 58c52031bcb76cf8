import NIOCore

/// A token bucket: `capacity` requests at once, then one more every `refillInterval`. Pure; time is an input.
/// The default per-agent rate, 5 per 10 s, is icwmp's.
public struct TokenBucket: Sendable, Hashable {
    public var capacity: Int
    public var refillInterval: TimeAmount
    private var tokens: Int
    private var lastRefill: NIODeadline?

    public init(capacity: Int, refillInterval: TimeAmount) {
        precondition(capacity > 0 && refillInterval.nanoseconds > 0, "a token bucket needs tokens and a refill rate")
        self.capacity = capacity
        self.refillInterval = refillInterval
        self.tokens = capacity
    }

    /// Takes one token if there is one.
    public mutating func take(now: NIODeadline) -> Bool {
        if let lastRefill {
            let elapsed = now - lastRefill
            if elapsed.nanoseconds >= refillInterval.nanoseconds {
                let earned = elapsed.nanoseconds / refillInterval.nanoseconds
                tokens = Int(min(Int64(capacity), Int64(tokens) + earned))
                // Keep the remainder, so a steady client is not short-changed by rounding.
                self.lastRefill = lastRefill + .nanoseconds(earned * refillInterval.nanoseconds)
            }
        } else {
            lastRefill = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
