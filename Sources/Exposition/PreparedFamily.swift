#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A family after merging, with its names for one format.
struct PreparedFamily {
    /// Name in `# HELP` and `# TYPE` lines.
    var familyName: String
    /// Name of the samples (before `_bucket`, `_sum`, `_count` for histograms).
    var sampleName: String
    var help: String
    var type: MetricType
    /// Merged metrics, in input order; kinds not yet filtered.
    var metrics: [Metric]
    /// The samples of a family given as a table, when that family's name is not
    /// shared with another: written straight from the table's bytes.
    var table: SampleTable?

    /// Merges families by their name in `format` and sorts them by that name.
    static func merge(_ families: [MetricFamily], format: ExpositionFormat) -> [PreparedFamily] {
        var index: [String: Int] = [:]
        var prepared: [PreparedFamily] = []
        prepared.reserveCapacity(families.count)
        for family in families {
            let (familyName, sampleName) = names(of: family, format: format)
            if let i = index[familyName] {
                guard prepared[i].type == family.type else { continue }
                if prepared[i].help.isEmpty { prepared[i].help = family.help }
                // Merged families go through the general path.
                prepared[i].materializeTable()
                prepared[i].metrics.append(contentsOf: family.metrics)
            } else {
                index[familyName] = prepared.count
                var entry = PreparedFamily(
                    familyName: familyName, sampleName: sampleName, help: family.help,
                    type: family.type, metrics: family.listed, table: family.table)
                if entry.table?.isEmpty == true { entry.table = nil }
                // A state set whose state label repeats another label is written as one row per sample.
                if let table = entry.table, let stateLabel = table.stateLabel,
                   table.labelNames.contains(where: { compareUTF8($0, stateLabel) == 0 }) {
                    entry.table = table.expanded()
                }
                // A table is written directly only on its own; mixed with listed metrics, or
                // in a histogram family (where its plain values are dropped anyway), it is not.
                if entry.table != nil && (!entry.metrics.isEmpty || entry.type == .histogram) { entry.materializeTable() }
                prepared.append(entry)
            }
        }
        prepared.sort { compareUTF8($0.familyName, $1.familyName) < 0 }
        return prepared
    }

    /// Text 0.0.4 uses the sample name for HELP/TYPE; OpenMetrics names the family
    /// without the `_total` / `_info` suffix its samples carry (OpenMetrics 1.0,
    /// "Counter" and "Info").
    static func names(of family: MetricFamily, format: ExpositionFormat) -> (family: String, sample: String) {
        let suffix: String
        switch family.type {
        case .counter: suffix = "_total"
        case .info: suffix = "_info"
        case .gauge, .histogram, .unknown: return (family.name, family.name)
        }
        let base = family.name.hasSuffix(suffix) ? String(family.name.dropLast(suffix.count)) : family.name
        let sample = base + suffix
        return (format == .openMetrics100 ? base : sample, sample)
    }

    mutating func materializeTable() {
        guard let table else { return }
        metrics.append(contentsOf: table.metrics())
        self.table = nil
    }

    /// A rough size for reserving the output: every metric sized like the first one.
    var roughEncodedSize: Int {
        var size = 2 * familyName.utf8.count + 2 * help.utf8.count + 48
        if let table {
            let names = table.labelNames.reduce(0) { $0 + $1.utf8.count + 4 }
            let states = table.stateLabel.map { $0.utf8.count + 4 + table.states.reduce(0) { $0 + $1.utf8.count } / max(1, table.states.count) } ?? 0
            return size + table.byteCount * max(1, table.states.count)
                + table.sampleCount * (sampleName.utf8.count + names + states + 24)
        }
        guard let first = metrics.first else { return size }
        var line = sampleName.utf8.count + 32
        for label in first.labels {
            line += label.name.utf8.count + label.value.utf8.count + 4
        }
        if case .histogram(let histogram) = first.value {
            line = (histogram.buckets.count + 1) * (line + 38) + 2 * (line + 6)
        }
        size += metrics.count * line
        return size
    }
}

/// Buffers for normalising one family at a time, reused across families so a
/// scrape allocates (and page-faults) them once.
///
/// For each metric, in input order and in one pass over its labels, `normalize`
/// renders the label pairs (`a="x",b="y"`, sorted by name, escaped) into
/// `rendered` and appends a sort key to `keys`; sorting then compares keys
/// with memcmp, and writing copies the rendered pairs.
struct FamilyScratch: ~Copyable {
    var rendered = ByteWriter(capacity: 1 << 16)
    var renderedBounds: [Int] = []
    /// Metrics of the right kind for the family's type.
    var metrics: [Metric] = []
    /// Indices into `metrics` in output order, one per distinct label set.
    var order: [Int] = []
    /// For a table family: label positions in name order.
    var tableLabels: [Int] = []
    private var keys = ByteWriter(capacity: 1 << 16)
    private var keyBounds: [Int] = []
    private var labelOrder: [Int] = []

    init() {}

    /// Fills `metrics`, `order`, `rendered` and `renderedBounds` for `family`.
    /// Mismatched value kinds are dropped, labels put in name order (first of each
    /// name kept, `le` dropped on histograms), metrics sorted and de-duplicated.
    mutating func normalize(_ family: PreparedFamily) {
        let isHistogram = family.type == .histogram
        func matches(_ metric: Metric) -> Bool {
            switch metric.value {
            case .value: !isHistogram
            case .histogram: isHistogram
            }
        }
        metrics = family.metrics.allSatisfy(matches) ? family.metrics : family.metrics.filter(matches)
        order.removeAll(keepingCapacity: true)
        rendered.removeAll()
        renderedBounds.removeAll(keepingCapacity: true)
        keys.removeAll()
        keyBounds.removeAll(keepingCapacity: true)
        let count = metrics.count
        guard count > 0 else { return }
        renderedBounds.reserveCapacity(count + 1)
        keyBounds.reserveCapacity(count + 1)
        renderedBounds.append(0)
        keyBounds.append(0)

        // Metrics of one family usually share their label names: when the previous
        // metric needed reordering and this one has the same names, reuse its order.
        var previousNeededOrdering = false
        for i in 0..<count {
            let labels = metrics[i].labels
            if !(previousNeededOrdering && Self.sameNames(labels, metrics[i - 1].labels)) {
                labelOrder.removeAll(keepingCapacity: true)
                previousNeededOrdering = !Self.appendLabelOrder(labels, dropLE: isHistogram, into: &labelOrder)
            }
            for (n, position) in labelOrder.enumerated() {
                let label = labels[position]
                if n > 0 { rendered.append(UInt8(ascii: ",")) }
                var name = label.name
                name.withUTF8 { bytes in
                    Self.appendKey(bytes, into: &keys)
                    rendered.append(bytes)
                }
                rendered.append(UInt8(ascii: "="))
                rendered.append(UInt8(ascii: "\""))
                var value = label.value
                value.withUTF8 { bytes in
                    Self.appendKey(bytes, into: &keys)
                    rendered.appendEscaped(bytes, quote: true)
                }
                rendered.append(UInt8(ascii: "\""))
            }
            keyBounds.append(keys.count)
            renderedBounds.append(rendered.count)
        }

        let sorted = keys.withBuffer { keyBytes in
            keyBounds.withUnsafeBufferPointer { bounds in
                Self.sortedUniqueOrder(keys: keyBytes, bounds: bounds, count: count)
            }
        }
        order.append(contentsOf: sorted)
    }

    /// Indices sorted by key, the original position breaking ties (deterministic, and
    /// of several metrics with one label set the first one given is kept), duplicates removed.
    fileprivate static func sortedUniqueOrder(keys: UnsafeBufferPointer<UInt8>, bounds: UnsafeBufferPointer<Int>, count: Int) -> [Int] {
        guard count > 1, let base = keys.baseAddress else { return Array(0..<count) }
        func compare(_ a: Int, _ b: Int, from offset: Int) -> Int32 {
            let aLength = bounds[a + 1] - bounds[a] - offset
            let bLength = bounds[b + 1] - bounds[b] - offset
            let shared = min(aLength, bLength)
            if shared > 0 {
                let c = memcmp(base + bounds[a] + offset, base + bounds[b] + offset, shared)
                if c != 0 { return c }
            }
            return aLength < bLength ? -1 : (aLength > bLength ? 1 : 0)
        }

        var sorted = true
        for i in 1..<count where compare(i - 1, i, from: 0) >= 0 {
            sorted = false
            break
        }
        if sorted { return Array(0..<count) }

        // Keys of one family tend to share a long prefix (label names, constant
        // labels). Skip it, and compare the next 8 bytes as one big-endian integer
        // held next to the index: most comparisons then never touch the key buffer.
        var common = bounds[1] - bounds[0]
        for i in 1..<count {
            let length = min(common, bounds[i + 1] - bounds[i])
            var shared = 0
            while shared < length && base[bounds[0] + shared] == base[bounds[i] + shared] { shared += 1 }
            common = shared
        }
        var entries: [(prefix: UInt64, index: Int)] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            let start = bounds[i] + common
            let available = min(8, bounds[i + 1] - start)
            var prefix: UInt64 = 0
            for k in 0..<8 {
                prefix <<= 8
                if k < available { prefix |= UInt64(base[start + k]) }
            }
            entries.append((prefix, i))
        }
        // Zero padding is safe: a key that ends inside the window sorts before any
        // longer key with the same bytes, in the prefix and in the full comparison alike.
        entries.sort { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            let c = compare(a.index, b.index, from: common)
            return c != 0 ? c < 0 : a.index < b.index
        }
        var unique: [Int] = []
        unique.reserveCapacity(count)
        var previous: (prefix: UInt64, index: Int)?
        for entry in entries {
            if let previous, previous.prefix == entry.prefix, compare(previous.index, entry.index, from: common) == 0 { continue }
            unique.append(entry.index)
            previous = entry
        }
        return unique
    }

    private static func sameNames(_ a: [Label], _ b: [Label]) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices where a[i].name.utf8.count != b[i].name.utf8.count || compareUTF8(a[i].name, b[i].name) != 0 {
            return false
        }
        return true
    }

    /// Appends the indices of `labels` sorted by name (stable), keeping the first of
    /// each name and dropping `le` when asked. Allocation-free for the usual few labels.
    /// Returns true when the labels were already in that shape.
    @discardableResult
    private static func appendLabelOrder(_ labels: [Label], dropLE: Bool, into order: inout [Int]) -> Bool {
        var clean = true
        for i in labels.indices {
            if dropLE && labels[i].name == "le" { clean = false; break }
            if i > 0 && compareUTF8(labels[i - 1].name, labels[i].name) >= 0 { clean = false; break }
        }
        if clean {
            order.append(contentsOf: labels.indices)
            return true
        }
        // Insertion sort in place at the end of `order`; label lists are short.
        let start = order.count
        for i in labels.indices {
            if dropLE && labels[i].name == "le" { continue }
            var position = order.count
            var duplicate = false
            while position > start {
                let c = compareUTF8(labels[order[position - 1]].name, labels[i].name)
                if c == 0 { duplicate = true; break }
                if c < 0 { break }
                position -= 1
            }
            if duplicate { continue }
            order.insert(i, at: position)
        }
        return false
    }

    /// Sort key of one string: 0x00 escaped as 00 01, ended by 00 00. Concatenated
    /// for each label (name, then value), memcmp order on these keys is exactly
    /// "label by label, name then value, by UTF-8 bytes, shorter label list first",
    /// and equal keys mean equal label sets.
    fileprivate static func appendKey(_ bytes: UnsafeBufferPointer<UInt8>, into keys: inout ByteWriter) {
        // A plain loop: memchr's call overhead dominates on strings this short.
        var hasZero = false
        for byte in bytes where byte == 0 {
            hasZero = true
            break
        }
        if !hasZero {
            keys.append(bytes)
        } else {
            for byte in bytes {
                keys.append(byte)
                if byte == 0 { keys.append(UInt8(1)) }
            }
        }
        keys.append(UInt8(0))
        keys.append(UInt8(0))
    }
}

/// Byte-wise UTF-8 order, as Go compares strings. Swift's `<` and `==` use Unicode
/// canonical equivalence, which would make sort order and de-duplication depend
/// on normalisation.
func compareUTF8(_ a: String, _ b: String) -> Int {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let shared = min(x.count, y.count)
            if shared > 0, let xp = x.baseAddress, let yp = y.baseAddress {
                let c = memcmp(xp, yp, shared)
                if c != 0 { return c < 0 ? -1 : 1 }
            }
            return x.count < y.count ? -1 : (x.count > y.count ? 1 : 0)
        }
    }
}

extension FamilyScratch {
    /// For a table family: fills `tableLabels` with the label positions in name
    /// order (first of each name kept) and `order` with the rows in output order,
    /// one per distinct label set. Keys hold only the values, in that label order:
    /// the names are the same in every row, so they never decide.
    mutating func normalize(table: SampleTable) {
        order.removeAll(keepingCapacity: true)
        tableLabels.removeAll(keepingCapacity: true)
        keys.removeAll()
        keyBounds.removeAll(keepingCapacity: true)
        let names = table.labelNames
        for i in names.indices {
            var position = tableLabels.count
            var duplicate = false
            while position > 0 {
                let c = compareUTF8(names[tableLabels[position - 1]], names[i])
                if c == 0 { duplicate = true; break }
                if c < 0 { break }
                position -= 1
            }
            if !duplicate { tableLabels.insert(i, at: position) }
        }
        let count = table.count
        guard count > 0 else { return }
        // Rows given in order already, each label set once (the big collectors build them so):
        // no keys, no sort.
        if table.rowsAscend(labelOrder: tableLabels) {
            order.append(contentsOf: 0..<count)
            return
        }
        keyBounds.reserveCapacity(count + 1)
        keyBounds.append(0)
        let width = names.count
        // Moved out while the closures below append, so they need no access to `self`.
        var keys = ByteWriter(capacity: 0)
        swap(&keys, &self.keys)
        var keyBounds: [Int] = []
        swap(&keyBounds, &self.keyBounds)
        table.withStorage { bytes, ends, _ in
            tableLabels.withUnsafeBufferPointer { labels in
                for row in 0..<count {
                    for k in labels {
                        let i = row * width + k
                        let start = i == 0 ? 0 : Int(ends[i - 1])
                        Self.appendKey(UnsafeBufferPointer(rebasing: bytes[start..<Int(ends[i])]), into: &keys)
                    }
                    keyBounds.append(keys.count)
                }
            }
        }
        swap(&keys, &self.keys)
        swap(&keyBounds, &self.keyBounds)
        let sorted = self.keys.withBuffer { keyBytes in
            self.keyBounds.withUnsafeBufferPointer { bounds in
                Self.sortedUniqueOrder(keys: keyBytes, bounds: bounds, count: count)
            }
        }
        order.append(contentsOf: sorted)
    }
}
