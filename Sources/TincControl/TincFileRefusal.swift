/// Why a key or trust-state file was refused or could not be read.
public enum TincFileRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// open, fstat or read failed, or the file is larger than the limit.
    case file(TincFileError)
    /// A FIFO, a directory, a device.
    case notRegularFile(path: String)
    /// The file has one of the forbidden mode bits (group or others may access it).
    case insecureMode(path: String, mode: UInt32)

    public var description: String {
        switch self {
        case .file(let error): "\(error)"
        case .notRegularFile(let path): "\(path) is not a regular file"
        case .insecureMode(let path, let mode): "\(path) has mode \(String(mode, radix: 8)), which lets group or others access it"
        }
    }
}
