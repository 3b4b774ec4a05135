import Foundation
import Glibc

/// Runs a program to completion with a bound, its stdout and stderr captured in files (no pipe
/// to fill up). Unlike `runTool`, a non-zero exit is a result, not an error.
public func runToCompletion(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                            timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
    let base = NSTemporaryDirectory() + "bgpmesh-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    for suffix in [".out", ".err"] { _ = FileManager.default.createFile(atPath: base + suffix, contents: nil) }
    defer { for suffix in [".out", ".err"] { try? FileManager.default.removeItem(atPath: base + suffix) } }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
    try process.run()
    guard EtcdTestCluster.waitForExit(process, seconds: timeout) else {
        kill(process.processIdentifier, SIGKILL)
        EtcdTestCluster.waitForExit(process, seconds: 5)
        throw ToolFailure(description: "\(path) \(arguments.joined(separator: " ")) did not exit within \(timeout) s")
    }
    let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    return (process.terminationStatus, out, err)
}
