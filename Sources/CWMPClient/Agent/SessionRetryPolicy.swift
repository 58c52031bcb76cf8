// Session retry (TR-069 §3.2.1.1, cwmp.md §6.1): after the n-th consecutive failed session the CPE waits a
// uniformly random time in [m·(k/1000)^(n−1), m·(k/1000)^n] seconds, the growth stopping at n = 10. The random
// source is a parameter so that tests (and a replay) are deterministic.

/// The retry state of one agent: the two ManagementServer parameters and the consecutive-failure count that
/// the Inform reports as RetryCount. A plain value to persist: RetryCount survives a reboot (cwmp.md §6.1).
public struct SessionRetryPolicy: Hashable, Sendable, Codable {
    /// `CWMPRetryMinimumWaitInterval` m, seconds, 1…65535 (default 5).
    public var minimumWaitInterval: UInt32
    /// `CWMPRetryIntervalMultiplier` k, in thousandths, 1000…65535 (default 2000, i.e. doubling).
    public var intervalMultiplier: UInt32
    /// Consecutive failed sessions; sent as the Inform's RetryCount, reset by a successful session.
    public private(set) var retryCount: UInt32

    /// The exponent stops growing here: from the 10th retry on the window stays the same (TR-069 §3.2.1.1).
    public static let maximumGrowthCount: UInt32 = 10

    public init(minimumWaitInterval: UInt32 = 5, intervalMultiplier: UInt32 = 2000, retryCount: UInt32 = 0) {
        // Out-of-range values are clamped to the parameter ranges the data model allows.
        self.minimumWaitInterval = min(max(minimumWaitInterval, 1), 65_535)
        self.intervalMultiplier = min(max(intervalMultiplier, 1000), 65_535)
        self.retryCount = retryCount
    }

    /// The wait window for the n-th consecutive retry (n ≥ 1), to the millisecond (exact for k in thousandths).
    public func waitWindow(forRetry n: UInt32) -> ClosedRange<Duration> {
        let exponent = min(max(n, 1), Self.maximumGrowthCount)
        let factor = Double(intervalMultiplier) / 1000
        var lower = Double(minimumWaitInterval)
        for _ in 1..<exponent { lower *= factor }
        // m = k = 65535 would reach ~10^20 s at n = 10; the cap (136 years) only keeps the arithmetic finite.
        let cap = Double(UInt32.max)
        let upper = min(lower * factor, cap)
        lower = min(lower, cap)
        return .milliseconds(Int64(lower * 1000))...Duration.milliseconds(Int64(upper * 1000))
    }

    /// Records a failed session and returns how long to wait before the next attempt: a random point of the
    /// window, or the ACS's Retry-After (HTTP 503) when that is longer — the ACS asked for at least that much.
    public mutating func sessionFailed(retryAfter: Duration? = nil,
                                       using generator: inout some RandomNumberGenerator) -> Duration {
        if retryCount < UInt32.max { retryCount += 1 }
        let window = waitWindow(forRetry: retryCount)
        let lower = window.lowerBound.totalNanoseconds / 1_000_000
        let upper = window.upperBound.totalNanoseconds / 1_000_000
        let wait = Duration.milliseconds(Int64.random(in: lower...upper, using: &generator))
        if let retryAfter, retryAfter > wait { return retryAfter }
        return wait
    }

    /// A session ended cleanly: the next failure starts again at the first window.
    public mutating func sessionSucceeded() {
        retryCount = 0
    }
}
