extension ExpositionFormat {
    /// Chooses the format from an `Accept` header.
    ///
    /// OpenMetrics is chosen only when the client names `application/openmetrics-text`
    /// with `version=1.0.0` (or no version) at q > 0 and that entry outranks every
    /// text 0.0.4 match (`text/plain` with version 0.0.4 or none, `text/*`, `*/*`):
    /// higher q wins, then the more specific range, then the earlier entry.
    /// Everything else, including a missing header, gets text 0.0.4.
    /// Prometheus 2.42 sends
    /// `application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text004 }
        var bestOM: (q: Double, specificity: Int, index: Int)?
        var bestText: (q: Double, specificity: Int, index: Int)?

        func better(_ a: (q: Double, specificity: Int, index: Int), than b: (q: Double, specificity: Int, index: Int)?) -> Bool {
            guard let b else { return true }
            if a.q != b.q { return a.q > b.q }
            if a.specificity != b.specificity { return a.specificity > b.specificity }
            return a.index < b.index
        }

        for element in HeaderList.parse(accept) {
            let version = element.parameters["version"]
            let candidate: (q: Double, specificity: Int, index: Int)
            switch element.token {
            case "application/openmetrics-text":
                guard version == nil || version == "1.0.0" else { continue }
                candidate = (element.q, 2, element.index)
                if better(candidate, than: bestOM) { bestOM = candidate }
                continue
            case "text/plain":
                guard version == nil || version == "0.0.4" else { continue }
                candidate = (element.q, 2, element.index)
            case "text/*":
                candidate = (element.q, 1, element.index)
            case "*/*":
                candidate = (element.q, 0, element.index)
            default:
                continue
            }
            if better(candidate, than: bestText) { bestText = candidate }
        }

        guard let om = bestOM, om.q > 0 else { return .text004 }
        if let text = bestText, text.q > 0, !better(om, than: text) { return .text004 }
        return .openMetrics100
    }
}
