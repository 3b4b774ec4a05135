extension TincRSAPrivateKey {
    /// Reads `rsa_key.priv`. The file must be a regular file that neither group nor others may
    /// read or write (mode & 0o077 == 0, what tincd itself warns about), at most `maxFileBytes`.
    /// A symlink is followed; the checks apply to the file read, through its descriptor.
    public init(contentsOfFile path: String) throws(TincKeyError) {
        var content: [UInt8]
        do {
            content = try TincRegularFile.read(path, limit: Self.maxFileBytes, forbiddenModeBits: 0o077)
        } catch {
            throw .unreadable(error)
        }
        defer { for index in content.indices { content[index] = 0 } }
        try self.init(pemText: String(decoding: content, as: UTF8.self))
    }
}
