/// `repair.mode`.
public enum RepairMode: String, Sendable, CaseIterable {
    case off
    case dryRun = "dry-run"
    case on
}
