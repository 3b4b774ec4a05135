/// Reads a daemon's argv (as in /proc/PID/cmdline) the way getopt_long(3) would, for the options
/// the agent needs to know (tincd's net and log, BIRD's socket). Not a full getopt: permuted
/// operands are skipped, and at most 256 arguments are looked at.
public enum CommandLineOptions {
    /// Each option in order, short ones by their letter and long ones by their name, with its
    /// value. `shortWithArgument` take a value (glued or the next argument); `shortOptional`
    /// take one only glued; `longWithArgument` take `--name=value` or the next argument, other
    /// long options only `--name=value`.
    public static func parse(_ arguments: [String], shortWithArgument: Set<Character>, shortOptional: Set<Character> = [],
                             longWithArgument: Set<String> = []) -> [(name: String, value: String?)] {
        var out: [(name: String, value: String?)] = []
        var index = 1
        while index < arguments.count, index < 256 {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                let parts = argument.dropFirst(2).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : nil
                if value == nil, longWithArgument.contains(name), index < arguments.count {
                    value = arguments[index]
                    index += 1
                }
                out.append((name, value))
                continue
            }
            guard argument.hasPrefix("-"), argument.count > 1 else { continue }
            var characters = Array(argument.dropFirst())
            while !characters.isEmpty {
                let option = characters.removeFirst()
                if shortWithArgument.contains(option) {
                    var value: String?
                    if !characters.isEmpty {
                        value = String(characters)
                    } else if index < arguments.count {
                        value = arguments[index]
                        index += 1
                    }
                    out.append((String(option), value))
                    characters = []
                } else if shortOptional.contains(option) {
                    out.append((String(option), characters.isEmpty ? nil : String(characters)))
                    characters = []
                } else {
                    out.append((String(option), nil))
                }
            }
        }
        return out
    }
}
