import Exposition
import XCTest

final class MetricFamilyTests: XCTestCase {
    func testStateSet() {
        let family = MetricFamily.stateSet("tinc_daemon_state", help: "State.", labels: [Label("net", "mesh")],
                                           states: ["up", "down", "up"], current: "down")
        XCTAssertEqual(family.type, .gauge)
        XCTAssertEqual(family.metrics, [
            Metric([Label("net", "mesh"), Label("state", "up")], 0),
            Metric([Label("net", "mesh"), Label("state", "down")], 1),
        ])
    }

    func testStateSetUnknownOrNilCurrentIsAllZero() {
        for current in [nil, "exploded"] as [String?] {
            let family = MetricFamily.stateSet("s", help: "S.", labels: [], states: ["a", "b"], current: current, stateLabel: "phase")
            XCTAssertEqual(family.metrics, [Metric([Label("phase", "a")], 0), Metric([Label("phase", "b")], 0)])
        }
    }

    func testStateSetEntries() {
        let family = MetricFamily.stateSet("s", help: "S.", entries: [
            (labels: [Label("p", "x")], current: "b"),
            (labels: [Label("p", "y")], current: "a"),
        ], states: ["a", "b"])
        XCTAssertEqual(family.metrics.map(\.value), [.value(0), .value(1), .value(1), .value(0)])
        XCTAssertEqual(family.metrics.map { $0.labels.map(\.value) }, [["x", "a"], ["x", "b"], ["y", "a"], ["y", "b"]])
    }

    func testInfoFactory() {
        let family = MetricFamily.info("x_info", help: "X.", [[Label("a", "1")], [Label("a", "2")]])
        XCTAssertEqual(family.type, .info)
        XCTAssertEqual(family.metrics, [Metric([Label("a", "1")], 1), Metric([Label("a", "2")], 1)])
    }

    func testNameValidation() {
        for name in ["a", "_a", "a:b", ":a", "bird_bgp_session_state", "A9_"] {
            XCTAssertTrue(ExpositionValidation.isValidMetricName(name), name)
        }
        for name in ["", "9a", "a-b", "a b", "é", "a{"] {
            XCTAssertFalse(ExpositionValidation.isValidMetricName(name), name)
        }
        for name in ["a", "_a", "peer", "A9_"] {
            XCTAssertTrue(ExpositionValidation.isValidLabelName(name), name)
        }
        for name in ["", "9a", "a:b", "__name__", "a-b", "ü"] {
            XCTAssertFalse(ExpositionValidation.isValidLabelName(name), name)
        }
    }

    func testProblems() {
        let families: [MetricFamily] = [
            .counter("requests", help: "", [Metric([Label("a", "1"), Label("a", "2")], -1)]),
            .info("build", help: "B.", [[Label("__x", "1")]]),
            .histogram("h", help: "H.", [
                Metric([Label("le", "1")], histogram: HistogramValue(buckets: [(2, 5), (1, 3), (.infinity, 9)], count: 4, sum: 0)),
                Metric(1),
            ]),
            .gauge("g", help: "G.", [Metric([Label("x", "1")], 1), Metric([Label("x", "1")], 2)]),
            .counter("g", help: "G.", [Metric(1)]),
        ]
        let problems = ExpositionValidation.problems(families)
        let expected = [
            "requests: no HELP text",
            "requests: counter name does not end in _total",
            "requests: label \"a\" repeated",
            "requests: counter value -1.0 is negative or NaN",
            "build: info name does not end in _info",
            "build: invalid label name \"__x\"",
            "h: histogram metric carries its own le label",
            "h: bucket bounds not ascending",
            "h: bucket counts not cumulative",
            "h: explicit +Inf bucket",
            "h: bucket count exceeds _count",
            "h: plain value in a histogram family",
            "g: label set {x=\"1\"} appears more than once",
        ]
        for fragment in expected {
            XCTAssertTrue(problems.contains { $0.hasPrefix(fragment) }, "missing: \(fragment)\nin: \(problems)")
        }
        // "g" as a counter is g_total in text 0.0.4: a different family, so no type clash there.
        XCTAssertFalse(problems.contains { $0.contains("declared as") })
        XCTAssertTrue(ExpositionValidation.problems([.gauge("x", help: "X.", [Metric(1)]), .counter("x_total", help: "X.", [])]).isEmpty)
        XCTAssertEqual(ExpositionValidation.problems([.gauge("x_total", help: "X.", [Metric(1)]), .counter("x_total", help: "X.", [])]),
                       ["x_total: declared as gauge and as counter; the encoder drops the later one"])
    }
}
