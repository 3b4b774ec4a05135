#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The body Alertmanager POSTs to a webhook receiver, payload version "4"
/// (Alertmanager 0.25: notify/webhook/webhook.go `Message`, template/template.go `Data`).
/// The fields the agent acts on are required; the rest default to empty, so a sender that
/// leaves out, say, `commonAnnotations` is still understood.
public struct AlertmanagerPayload: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case firing, resolved }

    /// One alert of the group.
    public struct Alert: Sendable, Equatable, Codable {
        public var status: Status
        public var labels: [String: String]
        public var annotations: [String: String]
        /// RFC 3339 as Alertmanager formats it; kept verbatim because it is half of the dedup key.
        public var startsAt: String
        /// "0001-01-01T00:00:00Z" while firing (Go's zero time).
        public var endsAt: String
        public var generatorURL: String
        /// Alertmanager's hash of the label set (16 hex digits).
        public var fingerprint: String

        enum CodingKeys: String, CodingKey {
            case status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try c.decode(Status.self, forKey: .status)
            labels = try c.decode([String: String].self, forKey: .labels)
            annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
            startsAt = try c.decode(String.self, forKey: .startsAt)
            endsAt = try c.decodeIfPresent(String.self, forKey: .endsAt) ?? ""
            generatorURL = try c.decodeIfPresent(String.self, forKey: .generatorURL) ?? ""
            fingerprint = try c.decode(String.self, forKey: .fingerprint)
        }

        public init(status: Status, labels: [String: String], annotations: [String: String] = [:], startsAt: String,
                    endsAt: String = "", generatorURL: String = "", fingerprint: String) {
            self.status = status
            self.labels = labels
            self.annotations = annotations
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.generatorURL = generatorURL
            self.fingerprint = fingerprint
        }

        /// What deduplicates deliveries of this alert: the same alert firing again later has
        /// another startsAt, an Alertmanager HA peer re-sending it has the same one.
        public var key: String { fingerprint + "@" + startsAt }
    }

    public var version: String
    public var groupKey: String
    public var status: Status
    public var receiver: String
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var commonAnnotations: [String: String]
    public var externalURL: String
    public var alerts: [Alert]

    enum CodingKeys: String, CodingKey {
        case version, groupKey, status, receiver, groupLabels, commonLabels, commonAnnotations, externalURL, alerts
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(String.self, forKey: .version)
        groupKey = try c.decodeIfPresent(String.self, forKey: .groupKey) ?? ""
        status = try c.decode(Status.self, forKey: .status)
        receiver = try c.decodeIfPresent(String.self, forKey: .receiver) ?? ""
        groupLabels = try c.decodeIfPresent([String: String].self, forKey: .groupLabels) ?? [:]
        commonLabels = try c.decodeIfPresent([String: String].self, forKey: .commonLabels) ?? [:]
        commonAnnotations = try c.decodeIfPresent([String: String].self, forKey: .commonAnnotations) ?? [:]
        externalURL = try c.decodeIfPresent(String.self, forKey: .externalURL) ?? ""
        alerts = try c.decode([Alert].self, forKey: .alerts)
    }

    /// The webhook payload version this agent understands.
    public static let supportedVersion = "4"

    /// Why a body is not a payload this agent understands; the description is the 400's body.
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case notJSON(String)
        case unsupportedVersion(String?)
        case invalid(String)

        public var description: String {
            switch self {
            case let .notJSON(reason): return "the body is not a JSON object: \(reason)"
            case let .unsupportedVersion(version?):
                return "unsupported webhook payload version \"\(version)\" (this agent reads version \"\(AlertmanagerPayload.supportedVersion)\")"
            case .unsupportedVersion(nil):
                return "the payload has no string \"version\" (this agent reads version \"\(AlertmanagerPayload.supportedVersion)\")"
            case let .invalid(reason): return "invalid webhook payload: \(reason)"
            }
        }
    }

    /// Decodes a webhook body: version first (another version may have another shape), then the rest.
    public static func decode(_ body: [UInt8]) throws(DecodeError) -> AlertmanagerPayload {
        let data = Data(body)
        // The version alone first: a top level that is not an object, or no string version, is
        // refused before the rest of the shape is looked at.
        struct VersionOnly: Decodable {
            var version: String?
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                version = try? c.decodeIfPresent(String.self, forKey: .version)
            }
            enum CodingKeys: String, CodingKey { case version }
        }
        let probe: VersionOnly
        do {
            probe = try JSONDecoder().decode(VersionOnly.self, from: data)
        } catch DecodingError.typeMismatch {
            throw .notJSON("the top level is not an object")
        } catch {
            throw .notJSON(JSONProblem.describe(error))
        }
        guard let version = probe.version else { throw .unsupportedVersion(nil) }
        guard version == supportedVersion else { throw .unsupportedVersion(version) }
        do {
            return try JSONDecoder().decode(AlertmanagerPayload.self, from: data)
        } catch {
            throw .invalid(JSONProblem.describe(error))
        }
    }
}

/// One line saying where and why JSON did not decode, for a 400's body.
enum JSONProblem {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case let .keyNotFound(key, context):
            return "missing \"\(path(context.codingPath + [key]))\""
        case let .typeMismatch(type, context):
            return "\"\(path(context.codingPath))\" is not \(typeName(type))"
        case let .valueNotFound(type, context):
            return "\"\(path(context.codingPath))\" is null, expected \(typeName(type))"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { return context.debugDescription }
            return "\"\(path(context.codingPath))\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `alerts[0].labels` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
        }
        return out.isEmpty ? "(top level)" : out
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is [String: String].Type: return "an object of strings"
        case is Bool.Type: return "a boolean"
        default:
            let name = "\(type)"
            if name.hasPrefix("Dictionary") { return "an object" }
            if name.hasPrefix("Array") { return "an array" }
            return "a \(name)"
        }
    }
}
