import CBuildInfo
import Exposition

/// What this binary is: version, git revision and the compiler that built it.
public enum BuildInfo {
    public static let version = "0.1.0"
    public static let revision = String(cString: bgpmesh_build_revision())

    public static var swiftVersion: String {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    /// `bgpmesh-agent 0.1.0 (revision abc1234, swift 6.3)`
    public static var versionLine: String {
        "bgpmesh-agent \(version) (revision \(revision), swift \(swiftVersion))"
    }

    static var family: MetricFamily {
        .info("bgpmesh_build_info", help: "A metric with a constant '1' value labeled by version, revision and swift_version.",
              [[Label("version", version), Label("revision", revision), Label("swift_version", swiftVersion)]])
    }
}
