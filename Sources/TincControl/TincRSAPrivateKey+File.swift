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
        // Only the bytes read are zeroed: the String made from them and the DER body PEMBlock
        // decodes are copies Swift gives no way to wipe, so the key is not scrubbed from memory.
        defer { for index in content.indices { content[index] = 0 } }
        try self.init(pemText: String(decoding: content, as: UTF8.self))
    }
}
