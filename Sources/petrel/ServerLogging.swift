import Foundation
import Logging

/// Log lines on stderr for `serve` and `worker`, in swift-log's stream format.
enum ServerLogging {
    /// The stream handler stamps each line with `localtime()`, and with `TZ` unset glibc re-reads
    /// `/etc/localtime` on every call to see whether it changed: one `stat` per access-log line
    /// (one per request). Naming the same file in `TZ` lets glibc keep what it read (a change of
    /// the system time zone shows after a restart). Called before any thread starts.
    static func bootstrap(level: Logger.Level) {
        setenv("TZ", ":/etc/localtime", 0)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}
