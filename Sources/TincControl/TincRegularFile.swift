import POSIXSupport

/// `RegularFile.read(_:limit:forbiddenModeBits:)` with its refusals in TincControl's terms,
/// for keys and trust state.
public enum TincRegularFile {
    /// The whole file, at most `limit` bytes, refused when `mode & forbiddenModeBits != 0`.
    public static func read(_ path: String, limit: Int, forbiddenModeBits: UInt32) throws(TincFileRefusal) -> [UInt8] {
        do {
            return try RegularFile.read(path, limit: limit, forbiddenModeBits: forbiddenModeBits)
        } catch {
            switch error {
            case .notRegularFile: throw .notRegularFile(path: path)
            case .insecureMode(_, let mode): throw .insecureMode(path: path, mode: mode)
            default: throw .file(TincFileError(error))
            }
        }
    }
}
