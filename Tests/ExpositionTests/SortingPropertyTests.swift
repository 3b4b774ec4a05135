import Exposition
import TestSupport
import XCTest

/// Checks the encoder's label normalisation, sort and de-duplication against a
/// slow, obviously correct reference on random input.
final class SortingPropertyTests: XCTestCase {
    func testRandomLabelSetsMatchReference() {
        var generator = SplitMix64(seed: 99)
        let names = ["a", "b", "ab", "a1", "zz", "le"]
        let values = ["", "x", "x\0", "x\0b", "xy", "x y", "\u{E9}", "e\u{301}", "\\", "\"", "\n", "mesh_node_000000000001",
                      "mesh_node_000000000002", "mesh_node_00000000000", "mesh_node_0000000000010"]
        for _ in 0..<60 {
            var metrics: [Metric] = []
            for i in 0..<150 {
                let labels = (0..<Int(generator.next() % 4)).map { _ in
                    Label(names.randomElement(using: &generator)!, values.randomElement(using: &generator)!)
                }
                metrics.append(Metric(labels, Double(i)))
            }
            assertMatchesReference(metrics)
        }
    }

    func testSharedLongPrefixesMatchReference() {
        // One label schema and values that share far more than 8 bytes past the
        // common prefix: exercises the prefix-skip and the memcmp fallback.
        var generator = SplitMix64(seed: 7)
        for _ in 0..<30 {
            var metrics: [Metric] = []
            for i in 0..<300 {
                let suffix = String(generator.next() % 40)
                let tail = generator.next() % 3 == 0 ? "\0" : ""
                let labels = generator.next() % 5 == 0
                    ? [Label("table", "master4"), Label("channel", "ipv4"), Label("protocol", "mesh_node_0000000000_" + suffix + tail)]
                    : [Label("channel", "ipv4"), Label("protocol", "mesh_node_0000000000_" + suffix + tail), Label("table", "master4")]
                metrics.append(Metric(labels, Double(i)))
            }
            assertMatchesReference(metrics)
        }
    }

    func testNulBytesDoNotMergeDistinctLabelSets() {
        // Naively joined with NUL separators these two would have the same key.
        let metrics = [
            Metric([Label("a", "x\0b\0c")], 1),
            Metric([Label("a", "x"), Label("b", "c")], 2),
        ]
        assertMatchesReference(metrics)
        let text = String(decoding: ExpositionEncoder.encode([.gauge("g", help: "G.", metrics)], format: .text004), as: UTF8.self)
        XCTAssertEqual(text.split(separator: "\n").count, 4)
    }

    private func assertMatchesReference(_ metrics: [Metric], file: StaticString = #filePath, line: UInt = #line) {
        let got = String(decoding: ExpositionEncoder.encode([.gauge("g", help: "G.", metrics)], format: .text004), as: UTF8.self)
        XCTAssertEqual(got, reference(metrics), file: file, line: line)
    }

    private func reference(_ metrics: [Metric]) -> String {
        typealias Pair = (name: [UInt8], value: [UInt8])
        func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
        func compare(_ a: [Pair], _ b: [Pair]) -> Int {
            for (x, y) in zip(a, b) {
                if x.name != y.name { return less(x.name, y.name) ? -1 : 1 }
                if x.value != y.value { return less(x.value, y.value) ? -1 : 1 }
            }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
        var rows: [(pairs: [Pair], index: Int, value: Double)] = []
        for (index, metric) in metrics.enumerated() {
            var pairs: [Pair] = []
            let byName = metric.labels.enumerated().sorted { a, b in
                let (x, y) = (Array(a.element.name.utf8), Array(b.element.name.utf8))
                return x != y ? less(x, y) : a.offset < b.offset
            }
            for (_, label) in byName where !pairs.contains(where: { $0.name == Array(label.name.utf8) }) {
                pairs.append((Array(label.name.utf8), Array(label.value.utf8)))
            }
            guard case .value(let value) = metric.value else { continue }
            rows.append((pairs, index, value))
        }
        rows.sort { a, b in
            let c = compare(a.pairs, b.pairs)
            return c != 0 ? c < 0 : a.index < b.index
        }
        var out = "# HELP g G.\n# TYPE g gauge\n"
        var previous: [Pair]?
        for row in rows {
            if let previous, compare(previous, row.pairs) == 0 { continue }
            previous = row.pairs
            out += "g"
            if !row.pairs.isEmpty {
                out += "{" + row.pairs.map { pair in
                    var escaped = ""
                    for ch in String(decoding: pair.value, as: UTF8.self).unicodeScalars {
                        switch ch {
                        case "\\": escaped += "\\\\"
                        case "\"": escaped += "\\\""
                        case "\n": escaped += "\\n"
                        default: escaped.unicodeScalars.append(ch)
                        }
                    }
                    return String(decoding: pair.name, as: UTF8.self) + "=\"" + escaped + "\""
                }.joined(separator: ",") + "}"
            }
            out += " \(Int(row.value))\n"
        }
        return out
    }
}
