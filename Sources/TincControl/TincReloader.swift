/// Makes tincd pick up changed host files and ConnectTo lines: HUP then ALRM on tinc 1.0
/// (through `TincDaemonClient`, which spaces the signals: 1.0.36 can deadlock when a signal
/// lands while its handler writes the log), reload then retry over 1.1's control socket.
public struct TincReloader: Sendable {
    let daemon: TincDaemonClient
    let control: TincControlClient

    public init(daemon: TincDaemonClient) {
        self.daemon = daemon
        self.control = TincControlClient(configuration: .init(net: daemon.configuration.net, pidfile: daemon.configuration.pidfilePath))
    }

    /// True when the pidfile is tinc 1.1's (`PID COOKIE HOST port PORT`).
    var speaksControlSocket: Bool { TincPidfile.isTinc11(atPath: daemon.configuration.pidfilePath) }

    public func reloadAndRetry() async throws(TincControlError) {
        if speaksControlSocket {
            try await control.reload()
            try await control.retry()
        } else {
            try await daemon.reload()
            try await daemon.retry()
        }
    }

    /// ALRM (1.1: retry): outgoing connections are tried again now.
    public func retry() async throws(TincControlError) {
        if speaksControlSocket {
            try await control.retry()
        } else {
            try await daemon.retry()
        }
    }
}
