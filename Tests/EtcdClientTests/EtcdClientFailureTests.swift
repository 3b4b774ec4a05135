@testable import EtcdClient
import Foundation
import TestSupport
import Glibc
import XCTest

/// Failures without etcd: refused connections, a server that never answers, a closed client.
final class EtcdClientFailureTests: XCTestCase {
    /// A loopback port with nothing listening.
    private func closedPort() throws -> Int {
        for _ in 0..<20 {
            let (port, _) = try PortAllocator.next()
            if PortAllocator.isFree(port) { return port }
        }
        throw ToolFailure(description: "no closed port")
    }

    /// A listener that accepts connections (in the kernel backlog) and never answers.
    private func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else { throw ToolFailure(description: "cannot listen: errno \(errno)") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func testRefusedEndpointsFailFastOnEveryEndpoint() async throws {
        let endpoints = ["http://127.0.0.1:\(try closedPort())", "http://127.0.0.1:\(try closedPort())"]
        let log = ObserverLog()
        let client = try EtcdClient(configuration: .init(endpoints: endpoints, connectTimeout: .milliseconds(500), requestTimeout: .seconds(2)), observer: log.observer)
        defer { client.shutdown() }
        do {
            _ = try await client.put("/k", value: "v")
            XCTFail("nothing listens")
        } catch {
            guard case .unavailable("put", let errors) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(errors.count, 2, "a refused connection sent nothing: even a put fails over")
            for (attempt, endpoint) in zip(errors, endpoints) {
                guard case .transport("put", endpoint, 7, _) = attempt else { return XCTFail("\(attempt)") }
            }
        }
        // Code 7 (CURLE_COULDNT_CONNECT) on both, not 28 (timeout): refused at once, no waiting.
        XCTAssertEqual(log.count("put", success: false), 1)
    }

    func testSilentServerTimesOutAndMutationsDoNotFailOver() async throws {
        let silent = try silentListener()
        defer { close(silent.fd) }
        let endpoints = ["http://127.0.0.1:\(silent.port)", "http://127.0.0.1:\(try closedPort())"]
        let client = try EtcdClient(configuration: .init(endpoints: endpoints, connectTimeout: .milliseconds(300), requestTimeout: .milliseconds(700)))
        defer { client.shutdown() }
        let start = ContinuousClock.now
        do {
            _ = try await client.txn(EtcdTxn(compare: [], success: []))
            XCTFail("the server never answers")
        } catch {
            // The request went out: a retry elsewhere could apply the txn twice.
            guard case .timeout("txn", endpoints[0], _) = error else { return XCTFail("\(error)") }
        }
        // The .timeout above is the request deadline firing (not before it), on the first endpoint only.
        XCTAssertGreaterThanOrEqual(start.duration(to: .now), .milliseconds(600))
    }

    func testWatchGivesUpAfterTheRetryLimit() async throws {
        let client = try EtcdClient(configuration: .init(endpoints: ["127.0.0.1:\(try closedPort())"], connectTimeout: .milliseconds(200),
                                                         requestTimeout: .milliseconds(500), watchRetryLimit: 3,
                                                         watchBackoff: .milliseconds(20), watchBackoffMax: .milliseconds(50)))
        defer { client.shutdown() }
        let watch = WatchRecorder(client.watch(.prefix("/x/")))
        await watch.wait(seconds: 5, "the watch fails") { $0.finished }
        guard case .unavailable("watch", let errors)? = watch.error else { return XCTFail("\(String(describing: watch.anyError))") }
        XCTAssertEqual(errors.count, 3)
        XCTAssertEqual(watch.updates, [])
    }

    func testInvalidArgumentsAndShutdown() async throws {
        let client = try EtcdClient(configuration: .init(endpoints: ["127.0.0.1:\(try closedPort())"]))
        do {
            _ = try await client.put("", value: "v")
            XCTFail("empty key")
        } catch {
            guard case .invalidArgument("put", _) = error else { return XCTFail("\(error)") }
        }
        let watch = WatchRecorder(client.watch(.key("")))
        await watch.wait("an empty watch key fails") { $0.finished }
        guard case .invalidArgument("watch", _)? = watch.error else { return XCTFail("\(String(describing: watch.anyError))") }

        client.shutdown()
        do {
            _ = try await client.range(.key("k"))
            XCTFail("the client is shut down")
        } catch {
            XCTAssertEqual(error, .shutdown(op: "range"))
        }
        XCTAssertThrowsError(try EtcdClient(configuration: .init(endpoints: [])))
    }
}
