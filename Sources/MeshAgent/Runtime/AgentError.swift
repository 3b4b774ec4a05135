import HTTPServer

/// Why the agent could not start or run.
public enum AgentError: Error, CustomStringConvertible {
    case config(ConfigError)
    case server(HTTPServerError)

    public var description: String {
        switch self {
        case let .config(error): return error.description
        case let .server(error): return error.description
        }
    }
}
