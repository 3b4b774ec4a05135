/// Encodes metric families as text 0.0.4 or OpenMetrics 1.0.0.
///
/// The encoder never fails and never crashes on its input. Before writing it
/// normalises, so output is stable enough for golden files:
/// - families with the same name (per format) are merged; a later family whose
///   type differs from the first one's is dropped, and the first non-empty HELP wins;
/// - families left without metrics are skipped, as client_golang does;
/// - labels are sorted by name; a repeated label name keeps its first value;
///   a user `le` label on a histogram is dropped;
/// - metrics are sorted label by label (name, then value, by UTF-8 bytes), and a
///   repeated label set keeps its first metric;
/// - a value whose kind does not match the family type (a histogram in a gauge
///   family, a plain value in a histogram family) is dropped;
/// - counters always get samples named `<base>_total` and info families
///   `<base>_info`, in both formats, so a counter family named without `_total`
///   still yields the same series whichever format is negotiated;
/// - info samples are always written with the value 1.
/// Names are written as given: use `ExpositionValidation` in tests to catch bad ones.
public enum ExpositionEncoder {
    public static func encode(_ families: [MetricFamily], format: ExpositionFormat) -> [UInt8] {
        let merged = PreparedFamily.merge(families, format: format)
        let estimate = merged.reduce(16) { $0 + $1.roughEncodedSize }
        // Written straight into the array that is returned, so a big body exists once;
        // room that is reserved but never written costs no resident memory.
        var spilled: [UInt8]?
        let body = [UInt8](unsafeUninitializedCapacity: estimate + estimate / 4) { buffer, initialized in
            var writer = ByteWriter(into: buffer)
            encode(merged, format: format, into: &writer)
            if writer.ownsBuffer {
                // The estimate fell short: the bytes are in the writer's own buffer.
                initialized = 0
                spilled = writer.finish()
            } else {
                initialized = writer.count
            }
        }
        return spilled ?? body
    }

    private static func encode(_ merged: [PreparedFamily], format: ExpositionFormat, into writer: inout ByteWriter) {
        var scratch = FamilyScratch()
        for family in merged {
            if let table = family.table {
                scratch.normalize(table: table)
                guard !scratch.order.isEmpty else { continue }
                writeTable(family, table, scratch: scratch, format: format, into: &writer)
                continue
            }
            scratch.normalize(family)
            // Families without metrics are skipped, as client_golang does.
            guard !scratch.order.isEmpty else { continue }
            write(family, scratch: scratch, format: format, into: &writer)
        }
        if format == .openMetrics100 {
            writer.append("# EOF\n")
        }
    }

    /// A sample value as the encoder writes it (`3`, `0.25`, `1e-05`, `NaN`, `+Inf`).
    public static func formatSampleValue(_ value: Double) -> String {
        var writer = ByteWriter(capacity: 32)
        writer.appendSampleValue(value)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    /// A histogram bound as written in the `le` label: `1` in text 0.0.4, `1.0` in OpenMetrics.
    public static func formatBucketBound(_ bound: Double, format: ExpositionFormat) -> String {
        var writer = ByteWriter(capacity: 32)
        writer.appendGoFloat(bound, canonical: format == .openMetrics100)
        return String(decoding: writer.finish(), as: UTF8.self)
    }

    private static func typeWord(_ type: MetricType, format: ExpositionFormat) -> String {
        switch (type, format) {
        case (.info, .text004): "gauge"
        case (.unknown, .text004): "untyped"
        default: type.rawValue
        }
    }

    private static func writeHeader(_ family: PreparedFamily, format: ExpositionFormat, into w: inout ByteWriter) {
        let om = format == .openMetrics100
        // client_golang writes HELP before TYPE; OpenMetrics 1.0 says the order SHOULD be TYPE, UNIT, HELP.
        if !om { writeHelp(family, quote: false, into: &w) }
        w.append("# TYPE ")
        w.append(family.familyName)
        w.append(UInt8(ascii: " "))
        w.append(typeWord(family.type, format: format))
        w.append(UInt8(ascii: "\n"))
        if om { writeHelp(family, quote: true, into: &w) }
    }

    /// A table family, from its bytes: `name{` then, per label in name order, a
    /// prefix made once (`,name="`), the (escaped) value and `"`.
    private static func writeTable(_ family: PreparedFamily, _ table: SampleTable, scratch: borrowing FamilyScratch,
                                   format: ExpositionFormat, into w: inout ByteWriter) {
        writeHeader(family, format: format, into: &w)
        // A state-set table's state label goes between the entity labels that sort before it
        // and those after it (PreparedFamily.merge expands a table whose state label repeats one).
        let split = table.stateLabel.map { stateLabel in
            scratch.tableLabels.firstIndex { compareUTF8(table.labelNames[$0], stateLabel) > 0 } ?? scratch.tableLabels.count
        } ?? scratch.tableLabels.count
        // `name="` of each label in name order, a comma before all but the first (the state
        // label included), in one buffer.
        var prefixes: [UInt8] = []
        var prefixEnds: [Int] = []
        for (n, k) in scratch.tableLabels.enumerated() {
            if n > 0 || (table.stateLabel != nil && n >= split) { prefixes.append(UInt8(ascii: ",")) }
            prefixes.append(contentsOf: table.labelNames[k].utf8)
            prefixes.append(contentsOf: "=\"".utf8)
            prefixEnds.append(prefixes.count)
        }
        let name = Array(family.sampleName.utf8)
        let isInfo = family.type == .info
        let escape = table.needsEscaping
        let width = table.labelNames.count
        // `,state="x"` for each state in byte order, and where each one is in `states`.
        var stateText: [[UInt8]] = []
        var stateIndex: [Int] = []
        if let stateLabel = table.stateLabel {
            stateIndex = table.states.indices.sorted { compareUTF8(table.states[$0], table.states[$1]) < 0 }
            let statePrefix = Array(((split > 0 ? "," : "") + stateLabel + "=\"").utf8)
            stateText = stateIndex.map { i in
                var sw = ByteWriter(capacity: 32)
                sw.append(statePrefix)
                sw.appendEscaped(table.states[i], quote: true)
                sw.append(UInt8(ascii: "\""))
                return sw.finish()
            }
        }
        table.withStorage { bytes, ends, values in
            prefixes.withUnsafeBufferPointer { prefixes in
            prefixEnds.withUnsafeBufferPointer { prefixEnds in
            scratch.tableLabels.withUnsafeBufferPointer { labels in
            scratch.order.withUnsafeBufferPointer { order in
            name.withUnsafeBufferPointer { name in
                func value(_ row: Int, _ n: Int) -> UnsafeBufferPointer<UInt8> {
                    let i = row * width + labels[n]
                    return UnsafeBufferPointer(rebasing: bytes[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])])
                }
                /// Labels `range` (positions in name order) of `row`, each with its prefix.
                func writeLabels(_ row: Int, _ range: Range<Int>) {
                    for n in range {
                        w.append(UnsafeBufferPointer(rebasing: prefixes[(n == 0 ? 0 : prefixEnds[n - 1])..<prefixEnds[n]]))
                        if escape { w.appendEscaped(value(row, n), quote: true) } else { w.append(value(row, n)) }
                        w.append(UInt8(ascii: "\""))
                    }
                }
                func writeStateSample(_ n: Int, current: Int) {
                    w.append(UInt8(ascii: "}"))
                    w.append(UInt8(ascii: " "))
                    w.append(isInfo || stateIndex[n] == current ? UInt8(ascii: "1") : UInt8(ascii: "0"))
                    w.append(UInt8(ascii: "\n"))
                }
                var g = 0
                while g < order.count && !stateText.isEmpty {
                    // Entities that agree on the labels before the state label form a group;
                    // within a group the samples go state by state. Usually a group is one entity.
                    var end = g + 1
                    groupEnd: while end < order.count {
                        for n in 0..<split where !value(order[g], n).elementsEqual(value(order[end], n)) { break groupEnd }
                        end += 1
                    }
                    if end == g + 1 {
                        // `name{labels before` and `labels after` are written once and copied for each further state.
                        let row = order[g], current = Int(values[row])
                        let head = w.count
                        w.append(name)
                        w.append(UInt8(ascii: "{"))
                        writeLabels(row, 0..<split)
                        let headLength = w.count - head
                        w.append(stateText[0])
                        let tail = w.count
                        writeLabels(row, split..<labels.count)
                        let tailLength = w.count - tail
                        writeStateSample(0, current: current)
                        for n in 1..<stateText.count {
                            w.appendCopy(from: head, count: headLength)
                            w.append(stateText[n])
                            w.appendCopy(from: tail, count: tailLength)
                            writeStateSample(n, current: current)
                        }
                    } else {
                        for n in stateText.indices {
                            for row in order[g..<end] {
                                w.append(name)
                                w.append(UInt8(ascii: "{"))
                                writeLabels(row, 0..<split)
                                w.append(stateText[n])
                                writeLabels(row, split..<labels.count)
                                writeStateSample(n, current: Int(values[row]))
                            }
                        }
                    }
                    g = end
                }
                for row in order where stateText.isEmpty {
                    w.append(name)
                    if !labels.isEmpty {
                        w.append(UInt8(ascii: "{"))
                        var prefixStart = 0
                        for n in 0..<labels.count {
                            w.append(UnsafeBufferPointer(rebasing: prefixes[prefixStart..<prefixEnds[n]]))
                            prefixStart = prefixEnds[n]
                            let i = row * width + labels[n]
                            let value = UnsafeBufferPointer(rebasing: bytes[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])])
                            if escape { w.appendEscaped(value, quote: true) } else { w.append(value) }
                            w.append(UInt8(ascii: "\""))
                        }
                        w.append(UInt8(ascii: "}"))
                    }
                    w.append(UInt8(ascii: " "))
                    w.appendSampleValue(isInfo ? 1 : values[row])
                    w.append(UInt8(ascii: "\n"))
                }
            }
            }
            }
            }
            }
        }
    }

    private static func write(_ family: PreparedFamily, scratch: borrowing FamilyScratch, format: ExpositionFormat, into w: inout ByteWriter) {
        let om = format == .openMetrics100
        writeHeader(family, format: format, into: &w)

        let name = Array(family.sampleName.utf8)
        var boundCache: [UInt64: [UInt8]] = [:]
        let infBound = Array("+Inf".utf8)
        scratch.rendered.withBuffer { rendered in
            for i in scratch.order {
                let pairs = UnsafeBufferPointer(rebasing: rendered[scratch.renderedBounds[i]..<scratch.renderedBounds[i + 1]])
                switch scratch.metrics[i].value {
                case .value(let value):
                    w.append(name)
                    w.appendLabelSet(pairs: pairs)
                    w.append(UInt8(ascii: " "))
                    w.appendSampleValue(family.type == .info ? 1 : value)
                    w.append(UInt8(ascii: "\n"))
                case .histogram(let histogram):
                    for bucket in histogram.buckets where !bucket.upperBound.isNaN && bucket.upperBound != .infinity {
                        let key = bucket.upperBound.bitPattern
                        let bound: [UInt8]
                        if let cached = boundCache[key] {
                            bound = cached
                        } else {
                            var bw = ByteWriter(capacity: 24)
                            bw.appendGoFloat(bucket.upperBound, canonical: om)
                            bound = bw.finish()
                            boundCache[key] = bound
                        }
                        w.append(name)
                        w.append("_bucket")
                        w.appendLabelSet(pairs: pairs, le: bound)
                        w.append(UInt8(ascii: " "))
                        w.append(bucket.cumulativeCount)
                        w.append(UInt8(ascii: "\n"))
                    }
                    w.append(name)
                    w.append("_bucket")
                    w.appendLabelSet(pairs: pairs, le: infBound)
                    w.append(UInt8(ascii: " "))
                    w.append(histogram.count)
                    w.append(UInt8(ascii: "\n"))
                    // client_golang order (_sum, _count) for 0.0.4; the OpenMetrics spec examples use _count, _sum.
                    if om {
                        writeCount(histogram, name: name, pairs: pairs, into: &w)
                        writeSum(histogram, name: name, pairs: pairs, into: &w)
                    } else {
                        writeSum(histogram, name: name, pairs: pairs, into: &w)
                        writeCount(histogram, name: name, pairs: pairs, into: &w)
                    }
                }
            }
        }
    }

    private static func writeHelp(_ family: PreparedFamily, quote: Bool, into w: inout ByteWriter) {
        // An empty HELP is the same as none (OpenMetrics 1.0); skip the line rather than write a trailing space.
        guard !family.help.isEmpty else { return }
        w.append("# HELP ")
        w.append(family.familyName)
        w.append(UInt8(ascii: " "))
        w.appendEscaped(family.help, quote: quote)
        w.append(UInt8(ascii: "\n"))
    }

    private static func writeSum(_ histogram: HistogramValue, name: [UInt8], pairs: UnsafeBufferPointer<UInt8>, into w: inout ByteWriter) {
        w.append(name)
        w.append("_sum")
        w.appendLabelSet(pairs: pairs)
        w.append(UInt8(ascii: " "))
        w.appendSampleValue(histogram.sum)
        w.append(UInt8(ascii: "\n"))
    }

    private static func writeCount(_ histogram: HistogramValue, name: [UInt8], pairs: UnsafeBufferPointer<UInt8>, into w: inout ByteWriter) {
        w.append(name)
        w.append("_count")
        w.appendLabelSet(pairs: pairs)
        w.append(UInt8(ascii: " "))
        w.append(histogram.count)
        w.append(UInt8(ascii: "\n"))
    }
}
