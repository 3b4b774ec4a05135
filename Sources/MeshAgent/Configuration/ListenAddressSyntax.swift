/// Syntax check of `[host]:port` listen addresses, so `check-config` can refuse
/// them without binding. The server resolves and binds them later.
public enum ListenAddressSyntax {
    /// nil when the address is well formed, otherwise the reason it is not.
    public static func validate(_ address: String) -> String? {
        let host: Substring
        let port: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { return "missing ] after the IPv6 address" }
            host = address[address.index(after: address.startIndex)..<close]
            let after = address[address.index(after: close)...]
            guard after.hasPrefix(":") else { return "expected :port after ]" }
            port = after.dropFirst()
            guard host.contains(":") else { return "brackets are only for IPv6 addresses" }
        } else {
            guard let colon = address.lastIndex(of: ":") else { return "expected [host]:port, e.g. :10179" }
            host = address[..<colon]
            port = address[address.index(after: colon)...]
            if host.contains(":") { return "put IPv6 addresses in brackets, e.g. [::1]:10179" }
        }
        guard let p = Int(port), (0...65535).contains(p), !port.isEmpty else { return "port must be a number from 0 to 65535" }
        if host.contains(where: { $0 == " " || $0 == "/" }) { return "invalid host" }
        return nil
    }
}
