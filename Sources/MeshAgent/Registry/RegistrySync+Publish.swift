import EtcdClient
import TincControl

/// Lease and publish: `nodes/<name>` holds this node's record, `alive/<name>` sits on a lease
/// kept alive every third of the TTL.
extension RegistrySync {
    func publishLoop() async {
        var lastPublished: [UInt8] = []
        var failures = Backoff(base: max(settings.aliveTTL / 3, .milliseconds(500)), cap: .seconds(10))
        while !Task.isCancelled {
            let interval = max(settings.aliveTTL / 3, .milliseconds(500))
            var local: (name: TincNodeName, record: NodeRecord)
            do {
                local = try LocalNode.record(directory: settings.tincDirectory, interface: settings.tincInterface, bgp: bgp())
                if lastLocalError != nil { logger.info("this node's record can be built again") }
                lastLocalError = nil
            } catch {
                if lastLocalError != error.description {
                    logger.error("cannot publish this node", metadata: ["error": "\(error)"])
                    metrics.error("local_node")
                }
                lastLocalError = error.description
                metrics.update { $0.published = false }
                try? await clock.sleep(for: .seconds(5))
                continue
            }
            if let key = rotationKey {
                // A rotation publishes the new key before tincd or the host file have it.
                local.record.publicKey = key.publicKey.pem
                local.record.fingerprintSHA256 = key.publicKey.fingerprintSHA256
            }
            view.setSelf(local.name, fingerprint: local.record.fingerprintSHA256)
            if me != local.name {
                me = local.name
                await reconcile()
            }
            local.record.keyAcks = currentKeyAcks()
            let value: [UInt8]
            do {
                value = try signer.value(for: local.record, privateKeyPath: LocalNode.privateKeyPath(directory: settings.tincDirectory),
                                         enrollmentPath: settings.enrollmentFile, key: rotationKey, rotations: rotationChain)
                if lastSignError != nil { logger.info("this node's record can be signed again") }
                lastSignError = nil
            } catch {
                if lastSignError != error.description {
                    logger.error("cannot publish this node", metadata: ["error": "\(error)"])
                    metrics.error("sign")
                }
                lastSignError = error.description
                metrics.update { $0.published = false }
                try? await clock.sleep(for: .seconds(5))
                continue
            }
            if settings.adminKey != nil, !enrollmentWarned,
               (try? RecordSigner.readEnrollment(settings.enrollmentFile)) ?? nil == nil {
                enrollmentWarned = true
                logger.error("registry.admin-public-key is set but this node has no enrollment statement; every peer refuses its record",
                             metadata: ["expected": "\(settings.enrollmentFile ?? "registry.enrollment-file")",
                                        "fix": "on the admin host: bgpmesh-agent enroll --admin-key FILE --node \(local.name) --fingerprint \(local.record.fingerprintSHA256)"])
            }
            do {
                if lease == nil {
                    let granted = try await etcd.leaseGrant(ttl: settings.aliveTTL)
                    lease = granted.id
                    aliveClaimed = false
                    lastPublished = []
                }
                if value != lastPublished || needsPublish {
                    needsPublish = false
                    if value != lastPublished { checkOwnRecord(local.name, value) }
                    try await publish(local.name, value)
                    lastPublished = value
                }
                if !aliveClaimed {
                    try await claimAlive(local.name)
                    aliveClaimed = true
                }
                metrics.update { $0.published = true }
                publishedFingerprint = local.record.fingerprintSHA256
                etcdRecovered()
                failures.reset()
                await publishWake.wait(upTo: interval, clock: clock)
                if let id = lease { _ = try await etcd.leaseKeepAlive(id) }
            } catch EtcdError.leaseNotFound(let id) {
                logger.notice("alive lease expired; granting a new one and publishing again", metadata: ["lease": "\(id)"])
                metrics.error("lease")
                lease = nil
                lastPublished = []
            } catch let error as AliveKeyHeld {
                metrics.update { $0.published = false }
                logger.warning("\(error)")
                // Keep our own lease while waiting for the other one to expire.
                if let id = lease, (try? await etcd.leaseKeepAlive(id)) == nil { lease = nil }
                try? await clock.sleep(for: .seconds(1))
            } catch let error as EtcdError where Self.leaseIsGone(error) {
                logger.notice("alive lease unknown to etcd; granting a new one", metadata: ["error": "\(error)"])
                metrics.error("lease")
                lease = nil
                lastPublished = []
            } catch {
                metrics.update { $0.published = false }
                metrics.error("publish")
                etcdFailed(error)
                try? await clock.sleep(for: failures.next())
            }
        }
    }

    /// Peers judge this node's record by the mesh's rules; if it breaks one (an overlay address
    /// outside mesh.overlay-prefixes, too many subnets), say so here, where it can be fixed.
    private func checkOwnRecord(_ name: TincNodeName, _ value: [UInt8]) {
        if case .failure(let reason) = RegistryRecordCheck.check(name: name, value: value, rules: view.rules) {
            metrics.error("local_node")
            logger.error("this node's record breaks the mesh's rules; every peer will refuse it",
                         metadata: ["reason": "\(reason.rawValue)", "overlay_prefixes": "\(settings.overlayPrefixes.map(\.description).joined(separator: ","))",
                                    "max_subnets": "\(settings.maxSubnets)"])
        }
    }

    /// A put with a lease etcd no longer has fails with gRPC NotFound "requested lease not found".
    static func leaseIsGone(_ error: EtcdError) -> Bool {
        if case .leaseNotFound = error { return true }
        return error.serverMessage?.contains("lease not found") == true
    }

    /// Puts `nodes/<name>` unless etcd already holds exactly these bytes (no needless revisions).
    private func publish(_ name: TincNodeName, _ value: [UInt8]) async throws {
        let key = nodesPrefix + name.rawValue
        if let current = try await etcd.get(key), current.value == value { return }
        _ = try await etcd.put(key, value: value)
        logger.info("published this node's record", metadata: ["key": "\(key)", "bytes": "\(value.count)"])
    }

    struct AliveKeyHeld: Error, CustomStringConvertible {
        var key: String
        var lease: Int64
        var description: String {
            "\(key) is held by lease \(lease): another agent runs with this node's name, or this agent's previous run has not expired yet; waiting"
        }
    }

    /// Creates `alive/<name>` on our lease, unless another lease holds it.
    private func claimAlive(_ name: TincNodeName) async throws {
        guard let id = lease else { return }
        let key = alivePrefix + name.rawValue
        let txn = EtcdTxn(compare: [.missing(key)],
                          success: [.put(key: key, value: Array(BuildInfo.version.utf8), lease: id)],
                          failure: [.range(.key(key))])
        let reply = try await etcd.txn(txn)
        if reply.succeeded { return }
        if case .range(let range)? = reply.responses.first, let held = range.kvs.first, held.lease != id {
            throw AliveKeyHeld(key: key, lease: held.lease)
        }
    }
}
