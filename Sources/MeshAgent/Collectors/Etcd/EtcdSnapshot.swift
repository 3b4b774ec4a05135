import EtcdClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One poll of etcd by the `EtcdSampler`: the answering member's status and the member list,
/// or why etcd did not answer.
public struct EtcdSnapshot: Sendable {
    public var status: EtcdStatus?
    public var members: EtcdMemberList?
    /// The endpoint that answered.
    public var endpoint: String
    public var error: String?
    public var collectedAt: Date

    public init(status: EtcdStatus? = nil, members: EtcdMemberList? = nil, endpoint: String, error: String? = nil, collectedAt: Date) {
        self.status = status
        self.members = members
        self.endpoint = endpoint
        self.error = error
        self.collectedAt = collectedAt
    }

    /// An endpoint answered both calls.
    public var isUp: Bool { status != nil && members != nil }
}
