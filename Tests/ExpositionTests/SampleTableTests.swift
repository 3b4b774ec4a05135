@testable import Exposition
import TestSupport
import XCTest

/// A family given as a `SampleTable` must encode to exactly the bytes of the same
/// metrics given one by one (the general path, itself checked against a reference
/// in SortingPropertyTests), in both formats and for every family type.
final class SampleTableTests: XCTestCase {
    static let names = ["a", "b", "ab", "a1", "zz", "le", "name", "table"]
    static let values = ["", "x", "x\0", "x\0b", "xy", "x y", "\u{E9}", "e\u{301}", "\\", "\"", "\n", "peer10", "peer2",
                         "mesh_node_000000000001", "mesh_node_00000000000", "mesh_node_0000000000010"]

    private func encoded(_ families: [MetricFamily], _ format: ExpositionFormat) -> String {
        String(decoding: ExpositionEncoder.encode(families, format: format), as: UTF8.self)
    }

    /// The same families with every table turned into listed metrics.
    private func listed(_ families: [MetricFamily]) -> [MetricFamily] {
        families.map { MetricFamily(name: $0.name, help: $0.help, type: $0.type, metrics: $0.metrics) }
    }

    private func assertSameBytes(_ families: [MetricFamily], file: StaticString = #filePath, line: UInt = #line) {
        for format in [ExpositionFormat.text004, .openMetrics100] {
            XCTAssertEqual(encoded(families, format), encoded(listed(families), format), "\(format)", file: file, line: line)
        }
    }

    private func randomTable(_ generator: inout SplitMix64, rows: Int) -> SampleTable {
        // Label names may repeat and include `le`: the first of a name wins, as for listed labels.
        let width = Int(generator.next() % 5)
        let labelNames = (0..<width).map { _ in Self.names.randomElement(using: &generator)! }
        var table = SampleTable(labelNames: labelNames)
        for _ in 0..<rows {
            let row = (0..<width).map { _ in Self.values.randomElement(using: &generator)! }
            let value = [0, 1, 2.5, -3, 1e-7, .nan, .infinity, 16658423808][Int(generator.next() % 8)]
            table.append(row, value: value)
        }
        return table
    }

    func testRandomTablesEncodeLikeTheirMetrics() {
        var generator = SplitMix64(seed: 2026)
        for round in 0..<200 {
            let table = randomTable(&generator, rows: Int(generator.next() % 120))
            let type: MetricType = [.gauge, .counter, .info, .unknown, .histogram][round % 5]
            let family = MetricFamily(name: type == .info ? "g_info" : "g", help: "G \\ \"x\"\nnext.", type: type, table: table)
            assertSameBytes([family])
        }
    }

    func testRandomStateSetTablesEncodeLikeTheirMetrics() {
        var generator = SplitMix64(seed: 4711)
        let stateLabels = ["state", "a", "zz", "name", "le"]
        let stateValues = ["up", "down", "Established", "x\0", "\"", "\\n", "\u{E9}", "e\u{301}", "", "up"]
        for round in 0..<200 {
            let width = Int(generator.next() % 4)
            let labelNames = (0..<width).map { _ in Self.names.randomElement(using: &generator)! }
            let stateLabel = stateLabels.randomElement(using: &generator)!
            let states = (0..<Int(generator.next() % 6)).map { _ in stateValues.randomElement(using: &generator)! }
            var table = SampleTable(labelNames: labelNames, stateLabel: stateLabel, states: states)
            for _ in 0..<Int(generator.next() % 60) {
                let row = (0..<width).map { _ in Self.values.randomElement(using: &generator)! }
                let current = generator.next() % 4 == 0 ? nil : (stateValues + ["unknown"]).randomElement(using: &generator)
                table.appendStates(row, current: current)
            }
            let type: MetricType = [.gauge, .info, .counter][round % 3]
            assertSameBytes([MetricFamily(name: type == .info ? "s_info" : "s", help: "S.", type: type, table: table)])
        }
    }

    func testStateSetTableIsTheStateSetFamily() {
        var table = SampleTable(labelNames: ["name", "proto"], stateLabel: "state", states: ["up", "down", "start", "up"])
        table.appendStates("p2", "BGP", current: "down")
        table.appendStates("p1", "BGP", current: nil)
        table.appendStates("p2", "BGP", current: "up")
        let family = MetricFamily.gauge("bird_proto_state", help: "State.", table)
        let reference = MetricFamily.stateSet("bird_proto_state", help: "State.",
                                              entries: [([Label("name", "p2"), Label("proto", "BGP")], "down"),
                                                        ([Label("name", "p1"), Label("proto", "BGP")], nil),
                                                        ([Label("name", "p2"), Label("proto", "BGP")], "up")],
                                              states: ["up", "down", "start", "up"])
        XCTAssertEqual(family, reference)
        XCTAssertEqual(encoded([family], .text004), encoded([reference], .text004))
        XCTAssertTrue(encoded([family], .text004).hasSuffix("""
            bird_proto_state{name="p2",proto="BGP",state="down"} 1
            bird_proto_state{name="p2",proto="BGP",state="start"} 0
            bird_proto_state{name="p2",proto="BGP",state="up"} 0

            """), "the first of two entities with one label set is kept")
    }

    func testStateLabelBetweenOtherLabels() {
        // `m` sorts between `a` and `z`: entities sharing `a` interleave state by state.
        var table = SampleTable(labelNames: ["z", "a"], stateLabel: "m", states: ["on", "off"])
        table.appendStates(["2", "1"], current: "on")
        table.appendStates(["1", "1"], current: "off")
        table.appendStates(["5", "0"], current: nil)
        table.appendStates(["2", "1"], current: "off")
        let family = MetricFamily.gauge("s", help: "S.", table)
        assertSameBytes([family])
        XCTAssertEqual(encoded([family], .text004), """
            # HELP s S.
            # TYPE s gauge
            s{a="0",m="off",z="5"} 0
            s{a="0",m="on",z="5"} 0
            s{a="1",m="off",z="1"} 1
            s{a="1",m="off",z="2"} 0
            s{a="1",m="on",z="1"} 0
            s{a="1",m="on",z="2"} 1

            """)
    }

    func testEveryArityAppendsItsValuesInOrder() {
        var t1 = SampleTable(labelNames: ["a"]); t1.append("1", value: 1)
        var t2 = SampleTable(labelNames: ["a", "b"]); t2.append("1", "2", value: 1)
        var t3 = SampleTable(labelNames: ["a", "b", "c"]); t3.append("1", "2", "3", value: 1)
        var t4 = SampleTable(labelNames: ["a", "b", "c", "d"]); t4.append("1", "2", "3", "4", value: 1)
        var t5 = SampleTable(labelNames: ["a", "b", "c", "d", "e"]); t5.append("1", "2", "3", "4", "5", value: 1)
        var t6 = SampleTable(labelNames: ["a", "b", "c", "d", "e", "f"]); t6.append("1", "2", "3", "4", "5", "6", value: 1)
        var t7 = SampleTable(labelNames: ["a", "b", "c", "d", "e", "f", "g"]); t7.append("1", "2", "3", "4", "5", "6", "7", value: 1)
        for (width, table) in [t1, t2, t3, t4, t5, t6, t7].enumerated().map({ ($0 + 1, $1) }) {
            let labels = table.metrics()[0].labels
            XCTAssertEqual(labels.map(\.name), Array(["a", "b", "c", "d", "e", "f", "g"].prefix(width)))
            XCTAssertEqual(labels.map(\.value), (1...width).map(String.init))
        }
    }

    func testManyRowsWithSharedPrefixesAndDuplicates() {
        // The shape of the BIRD families: a thousand protocols, names that do not sort
        // in their given order (peer10 < peer2), repeated label sets (first one kept).
        var table = SampleTable(labelNames: ["name", "proto", "channel", "table", "kind"])
        for i in 0..<1000 {
            for channel in ["ipv6", "ipv4"] {
                table.append("peer\(i)", "BGP", channel, "master" + channel.suffix(1), "imported", value: Double(i))
                table.append("peer\(i)", "BGP", channel, "master" + channel.suffix(1), "exported", value: 0)
            }
        }
        table.append("peer7", "BGP", "ipv4", "master4", "imported", value: 12345)
        let family = MetricFamily.gauge("bird_channel_routes", help: "Routes.", table)
        assertSameBytes([family])
        let text = encoded([family], .text004)
        XCTAssertTrue(text.contains("bird_channel_routes{channel=\"ipv4\",kind=\"imported\",name=\"peer7\",proto=\"BGP\",table=\"master4\"} 7\n"))
        XCTAssertFalse(text.contains("} 12345\n"), "a repeated label set keeps its first metric")
        XCTAssertEqual(text.split(separator: "\n").count, 2 + 4000)
    }

    func testRowsGivenInOrderSkipTheSortAndEncodeLikeTheirMetrics() {
        // Tables whose rows already come in the encoder's order (by label name, then bytes):
        // written without building sort keys. Repeats, prefixes and NUL bytes must still come
        // out as the listed metrics do.
        var generator = SplitMix64(seed: 99)
        let distinct = ["name", "a", "zz", "table"]
        var fastPaths = 0
        for round in 0..<300 {
            let width = 1 + Int(generator.next() % 4)
            let labelNames = Array(distinct.shuffled(using: &generator).prefix(width))
            let byName = labelNames.indices.sorted { labelNames[$0] < labelNames[$1] }
            // Every other round without NUL bytes or repeated rows, so the unsorted path is not the only one taken.
            let values = round % 2 == 0 ? Self.values.filter { !$0.utf8.contains(0) } : Self.values
            var rows = (0..<Int(generator.next() % 40)).map { _ in (0..<width).map { _ in values.randomElement(using: &generator)! } }
            if round % 2 == 0 {
                var seen = Set<[[UInt8]]>()
                rows = rows.filter { seen.insert($0.map { Array($0.utf8) }).inserted }
            }
            rows.sort { a, b in
                for k in byName where Array(a[k].utf8) != Array(b[k].utf8) { return Array(a[k].utf8).lexicographicallyPrecedes(Array(b[k].utf8)) }
                return false
            }
            var table = SampleTable(labelNames: labelNames)
            var copied = SampleTable(labelNames: labelNames)
            for (i, row) in rows.enumerated() {
                table.append(row, value: Double(i))
                copied.append(labelsOf: i, in: table, value: Double(i))
            }
            XCTAssertEqual(copied, table, "a copied row has the labels of the row it copies")
            let unique = Set(rows.map { $0.map { Array($0.utf8) } }).count == rows.count
            let hasNUL = rows.contains { $0.contains { $0.utf8.contains(0) } }
            let ascends = table.rowsAscend(labelOrder: byName)
            if unique && !hasNUL { XCTAssertTrue(ascends, "\(rows)") }
            if !unique && rows.count > 1 { XCTAssertFalse(ascends, "a repeated label set goes through the sort, which keeps the first") }
            if ascends { fastPaths += 1 }
            let type: MetricType = [.gauge, .counter, .info][round % 3]
            assertSameBytes([MetricFamily(name: type == .info ? "o_info" : "o", help: "O.", type: type, table: table)])
        }
        XCTAssertGreaterThan(fastPaths, 100)
    }

    func testMergedFamiliesMixTablesAndListedMetrics() {
        var a = SampleTable(labelNames: ["x", "y"])
        a.append("1", "2", value: 3)
        a.append("0", "2", value: 4)
        var b = SampleTable(labelNames: ["y"])
        b.append("9", value: 5)
        let families: [MetricFamily] = [
            .counter("c_total", help: "", a),
            .counter("c", help: "C.", [Metric([Label("x", "0"), Label("y", "2")], 7), Metric([Label("z", "q")], 1)]),
            .counter("c_total", help: "later", b),
            .gauge("c_total", help: "wrong type, dropped", a),
            .gauge("empty", help: "no rows", SampleTable(labelNames: ["x"])),
        ]
        assertSameBytes(families)
        let text = encoded(families, .text004)
        XCTAssertTrue(text.contains("# HELP c_total C.\n"))
        XCTAssertTrue(text.contains("c_total{x=\"0\",y=\"2\"} 4\n"))
        XCTAssertFalse(text.contains("empty"))
    }

    func testMetricsViewAndEquality() {
        var table = SampleTable(labelNames: ["name", "state"])
        table.append("p", "up", value: 1)
        var family = MetricFamily.gauge("s", help: "S.", table)
        XCTAssertEqual(family.metrics, [Metric([Label("name", "p"), Label("state", "up")], 1)])
        XCTAssertEqual(family, .gauge("s", help: "S.", [Metric([Label("name", "p"), Label("state", "up")], 1)]))
        family.metrics.append(Metric([Label("name", "q"), Label("state", "up")], 0))
        XCTAssertEqual(family.metrics.count, 2)
        XCTAssertNotEqual(family, .gauge("s", help: "S.", table))
    }

    func testBodyLargerThanTheEstimateIsWhole() {
        // The size estimate takes every metric to be like the first one: here it falls
        // far short, and the encoder must move to a buffer of its own without losing bytes.
        let long = String(repeating: "v", count: 500)
        let metrics = [Metric(0)] + (0..<2000).map { Metric([Label("k", long + String($0))], Double($0)) }
        let body = ExpositionEncoder.encode([.gauge("g", help: "G.", metrics)], format: .text004)
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2 + 2001)
        XCTAssertEqual(lines[2], "g 0")
        XCTAssertEqual(lines.last, "g{k=\"\(long)999\"} 999")
        XCTAssertGreaterThan(body.count, 2000 * 500)
    }
}
