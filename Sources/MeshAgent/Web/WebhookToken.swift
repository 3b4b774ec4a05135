import Glibc
import POSIXSupport

/// The bearer token that guards the mutating API endpoints, read once from
/// `web.webhook-token-file` (Alertmanager sends it from `http_config.authorization.credentials_file`).
public struct WebhookToken: Sendable {
    private let bytes: [UInt8]

    /// Largest token file read; a token is a line, not a document.
    public static let maxFileBytes = 4096

    /// The token, for a client that sends it (`bgpmesh-agent rotate-key`).
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// `token` must already be trimmed and non-empty.
    public init(_ token: String) throws(ConfigError) {
        guard let problem = Self.problem(with: token) else {
            bytes = Array(token.utf8)
            return
        }
        throw .inconsistent("web.webhook-token-file: \(problem)")
    }

    /// Reads and checks the token file: a regular file that neither group nor others may read
    /// or write (mode & 0o077 == 0), holding one token of visible ASCII, surrounding whitespace
    /// and newlines ignored. A symlink is followed (secret mounts use them); the checks apply
    /// to the file it names, through the descriptor actually read.
    public static func load(path: String) throws(ConfigError) -> WebhookToken {
        func refuse(_ reason: String) -> ConfigError { .inconsistent("web.webhook-token-file \(path): \(reason)") }
        let content: [UInt8]
        do {
            content = try RegularFile.read(path, limit: maxFileBytes, forbiddenModeBits: 0o077)
        } catch .tooLarge {
            throw refuse("larger than \(maxFileBytes) bytes; it should hold one token")
        } catch .insecureMode(_, let mode) {
            throw refuse("mode \(String(mode, radix: 8)) lets group or others access the token; chmod 600 it")
        } catch {
            throw refuse(error.reason)
        }
        guard let text = String(validating: content, as: UTF8.self) else { throw refuse("not UTF-8 text") }
        let token = String(text.trimmingASCIIWhitespace())
        if token.isEmpty { throw refuse("empty; it must hold the bearer token") }
        if let problem = problem(with: token) { throw refuse(problem) }
        return try WebhookToken(token)
    }

    private static func problem(with token: String) -> String? {
        if token.isEmpty { return "the token is empty" }
        // A token travels in one header line: visible ASCII only (RFC 9110 §5.5, RFC 6750 §2.1 is stricter).
        if !token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return "the token holds spaces, control or non-ASCII characters; it must be one line of visible ASCII"
        }
        return nil
    }

    public enum Verdict: Sendable, Equatable { case accepted, missing, wrong }

    /// Checks an `Authorization` header value: `Bearer <token>`, the scheme in any case
    /// (RFC 9110 §11.1). The comparison takes the same time wherever the first difference is.
    public func verify(authorization: String?) -> Verdict {
        guard let value = authorization else { return .missing }
        let trimmed = value.trimmingASCIIWhitespace()
        guard trimmed.utf8.count > 6, trimmed.prefix(6).lowercased() == "bearer", trimmed.utf8.dropFirst(6).first == 0x20 else {
            return .missing
        }
        let presented = Array(trimmed.dropFirst(7).trimmingASCIIWhitespace().utf8)
        return Self.constantTimeEquals(presented, bytes) ? .accepted : .wrong
    }

    /// Equal bytes, in time that depends only on `expected`'s length.
    static func constantTimeEquals(_ presented: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt = presented.count == expected.count ? 0 : 1
        guard !presented.isEmpty else { return false }
        for i in 0..<expected.count {
            difference |= UInt(expected[i] ^ presented[i % presented.count])
        }
        return difference == 0
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    func trimmingASCIIWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
