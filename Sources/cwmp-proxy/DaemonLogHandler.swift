import Logging
import Synchronization

/// The daemon's log level, one for the whole process, so that a reload (`logLevel`) changes what every logger of
/// the daemon emits, including those the libraries make from a label.
final class LogLevelSwitch: Sendable {
    private let level: Mutex<Logger.Level>

    init(_ level: Logger.Level) { self.level = Mutex(level) }

    var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// swift-log's standard-error handler with the level of a `LogLevelSwitch` (swift-log's documented pattern for a
/// global level override). Setting `logLevel` on one logger changes nothing: the level is the configuration's.
struct DaemonLogHandler: LogHandler {
    private var stream: StreamLogHandler
    let levelSwitch: LogLevelSwitch

    init(label: String, levelSwitch: LogLevelSwitch) {
        stream = StreamLogHandler.standardError(label: label)
        self.levelSwitch = levelSwitch
    }

    var logLevel: Logger.Level {
        get { levelSwitch.current }
        set {}
    }

    var metadata: Logger.Metadata {
        get { stream.metadata }
        set { stream.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { stream[metadataKey: key] }
        set { stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) { stream.log(event: event) }
}
