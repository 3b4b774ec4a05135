import Glibc
import POSIXSupport

/// The agent's state directory (`state.dir`): pins and the ledger of owned files live there.
enum StateDirectory {
    /// Creates `path` with mode 0700 when it is missing (not its parents), and refuses it when it
    /// is not a directory or group or others may access it: whoever can write it can replace
    /// the files in it, and whoever can enter it can read them. Throws the reason.
    static func prepare(_ path: String) throws(Refusal) {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw Refusal(reason: Syscall.errorText(errno, call: "mkdir"))
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw Refusal(reason: Syscall.errorText(errno, call: "stat")) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Refusal(reason: "not a directory") }
        guard info.st_mode & 0o077 == 0 else {
            throw Refusal(reason: "mode \(String(info.st_mode & 0o7777, radix: 8)) lets group or others access it; chmod 700 it")
        }
    }

    /// Why the directory cannot be used.
    struct Refusal: Error, Sendable, Equatable {
        let reason: String
    }
}
