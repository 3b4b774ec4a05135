#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import POSIXSupport

/// A swift-log handler that writes one logfmt or JSON line per event to stderr.
/// Only the executable bootstraps it; libraries just take a `Logger`.
public struct StructuredLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: AgentConfiguration.LogFormat
    let sink: @Sendable (String) -> Void

    public init(label: String, level: Logger.Level, format: AgentConfiguration.LogFormat,
                sink: @escaping @Sendable (String) -> Void = StructuredLogHandler.stderr) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        let fields: [(String, String)] = [("ts", Self.timestamp()), ("level", event.level.rawValue), ("msg", event.message.description)]
            + merged.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        sink(format == .json ? Self.json(fields) : Self.logfmt(fields))
    }

    /// `key=value key="two words"`, quoting where logfmt needs it.
    static func logfmt(_ fields: [(String, String)]) -> String {
        var line = ""
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { line += " " }
            line += key + "="
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline || $0 == "\\" }
            if needsQuotes {
                line += "\""
                // By scalar: a CR LF pair is one Character, and its LF must be escaped too.
                for scalar in value.unicodeScalars {
                    switch scalar {
                    case "\\": line += "\\\\"
                    case "\"": line += "\\\""
                    case "\n": line += "\\n"
                    default: line.unicodeScalars.append(scalar)
                    }
                }
                line += "\""
            } else {
                line += value
            }
        }
        return line + "\n"
    }

    static func json(_ fields: [(String, String)]) -> String {
        var line = "{"
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { line += "," }
            line += JSONText.quote(key) + ":" + JSONText.quote(value)
        }
        return line + "}\n"
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &tm)
        func p(_ v: Int, _ width: Int) -> String { NumberText.padded(v, width: width) }
        let date = p(Int(tm.tm_year) + 1900, 4) + "-" + p(Int(tm.tm_mon) + 1, 2) + "-" + p(Int(tm.tm_mday), 2)
        return date + "T" + p(Int(tm.tm_hour), 2) + ":" + p(Int(tm.tm_min), 2) + ":" + p(Int(tm.tm_sec), 2)
            + "." + p(Int(ts.tv_nsec / 1_000_000), 3) + "Z"
    }

    /// One `write(2)` per line, so lines from several threads never interleave. A log line
    /// that cannot be written has nowhere to be reported, so it is dropped.
    public static let stderr: @Sendable (String) -> Void = { line in
        try? Syscall.writeAll(2, Array(line.utf8))
    }
}

/// JSON string quoting (RFC 8259 section 7) for logs and the status API.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + NumberText.hex(scalar.value, width: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
