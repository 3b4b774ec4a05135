// Foundation's trimmingCharacters(in:) for the two sets the agent uses, without Foundation.
extension StringProtocol {
    /// Without leading and trailing whitespace (tabs and spaces, not line breaks).
    func trimmingSpaces() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// Without leading and trailing line breaks.
    func trimmingNewlines() -> String {
        trimming(\.isNewline)
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }
}
