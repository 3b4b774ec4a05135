import Exposition
import XCTest

final class ExpositionEncoderTests: XCTestCase {
    private func text(_ families: [MetricFamily], _ format: ExpositionFormat = .text004) -> String {
        String(decoding: ExpositionEncoder.encode(families, format: format), as: UTF8.self)
    }

    func testCounterNamesPerFormat() {
        let family = MetricFamily.counter("tinc_reconnects_total", help: "Reconnects.", [Metric(2)])
        XCTAssertEqual(text([family]), """
            # HELP tinc_reconnects_total Reconnects.
            # TYPE tinc_reconnects_total counter
            tinc_reconnects_total 2

            """)
        XCTAssertEqual(text([family], .openMetrics100), """
            # TYPE tinc_reconnects counter
            # HELP tinc_reconnects Reconnects.
            tinc_reconnects_total 2
            # EOF

            """)
    }

    func testCounterWithoutTotalSuffixGetsItInBothFormats() {
        let family = MetricFamily.counter("tinc_reconnects", help: "Reconnects.", [Metric(2)])
        XCTAssertTrue(text([family]).contains("# TYPE tinc_reconnects_total counter\ntinc_reconnects_total 2\n"))
        XCTAssertTrue(text([family], .openMetrics100).contains("# TYPE tinc_reconnects counter\n# HELP tinc_reconnects Reconnects.\ntinc_reconnects_total 2\n"))
    }

    func testInfoPerFormat() {
        let family = MetricFamily.info("bgpmesh_build_info", help: "Build.", [[Label("version", "1")]])
        XCTAssertEqual(text([family]), "# HELP bgpmesh_build_info Build.\n# TYPE bgpmesh_build_info gauge\nbgpmesh_build_info{version=\"1\"} 1\n")
        XCTAssertEqual(text([family], .openMetrics100), "# TYPE bgpmesh_build info\n# HELP bgpmesh_build Build.\nbgpmesh_build_info{version=\"1\"} 1\n# EOF\n")
    }

    func testInfoValueIsAlwaysOne() {
        let family = MetricFamily(name: "x_info", help: "h", type: .info, metrics: [Metric([Label("a", "b")], 7)])
        XCTAssertTrue(text([family]).hasSuffix("x_info{a=\"b\"} 1\n"))
    }

    func testUnknownType() {
        let family = MetricFamily(name: "x", help: "h", type: .unknown, metrics: [Metric(1)])
        XCTAssertTrue(text([family]).contains("# TYPE x untyped\n"))
        XCTAssertTrue(text([family], .openMetrics100).contains("# TYPE x unknown\n"))
    }

    func testHistogramAddsInfBucketFromCount() {
        let h = HistogramValue(buckets: [(0.5, 1), (1, 3)], count: 4, sum: 2.5)
        let family = MetricFamily.histogram("rtt_seconds", help: "RTT.", [Metric([Label("peer", "a")], histogram: h)])
        XCTAssertEqual(text([family]), """
            # HELP rtt_seconds RTT.
            # TYPE rtt_seconds histogram
            rtt_seconds_bucket{peer="a",le="0.5"} 1
            rtt_seconds_bucket{peer="a",le="1"} 3
            rtt_seconds_bucket{peer="a",le="+Inf"} 4
            rtt_seconds_sum{peer="a"} 2.5
            rtt_seconds_count{peer="a"} 4

            """)
        XCTAssertEqual(text([family], .openMetrics100), """
            # TYPE rtt_seconds histogram
            # HELP rtt_seconds RTT.
            rtt_seconds_bucket{peer="a",le="0.5"} 1
            rtt_seconds_bucket{peer="a",le="1.0"} 3
            rtt_seconds_bucket{peer="a",le="+Inf"} 4
            rtt_seconds_count{peer="a"} 4
            rtt_seconds_sum{peer="a"} 2.5
            # EOF

            """)
    }

    func testHistogramSkipsExplicitInfAndNaNBoundsAndUserLeLabel() {
        let h = HistogramValue(buckets: [(1, 1), (.nan, 2), (.infinity, 3)], count: 3, sum: 1)
        let family = MetricFamily.histogram("h_seconds", help: "H.", [Metric([Label("le", "9")], histogram: h)])
        XCTAssertEqual(text([family]), """
            # HELP h_seconds H.
            # TYPE h_seconds histogram
            h_seconds_bucket{le="1"} 1
            h_seconds_bucket{le="+Inf"} 3
            h_seconds_sum 1
            h_seconds_count 3

            """)
    }

    func testMismatchedValueKindsAreDropped() {
        let h = HistogramValue(buckets: [], count: 0, sum: 0)
        let families: [MetricFamily] = [
            .gauge("g", help: "G.", [Metric([Label("a", "1")], histogram: h), Metric([Label("a", "2")], 5)]),
            .histogram("h", help: "H.", [Metric([Label("a", "1")], 5)]),
        ]
        XCTAssertEqual(text(families), "# HELP g G.\n# TYPE g gauge\ng{a=\"2\"} 5\n")
    }

    func testFamiliesSortedAndSamplesSortedLabelByLabel() {
        let families: [MetricFamily] = [
            .gauge("zeta", help: "Z.", [Metric(1)]),
            .gauge("alpha", help: "A.", [
                Metric([Label("b", "2"), Label("a", "1")], 3),
                Metric([Label("a", "1"), Label("b", "10")], 2),
                Metric([Label("a", "0"), Label("b", "9")], 1),
                Metric([Label("a", "1")], 0),
            ]),
        ]
        XCTAssertEqual(text(families), """
            # HELP alpha A.
            # TYPE alpha gauge
            alpha{a="0",b="9"} 1
            alpha{a="1"} 0
            alpha{a="1",b="10"} 2
            alpha{a="1",b="2"} 3
            # HELP zeta Z.
            # TYPE zeta gauge
            zeta 1

            """)
    }

    func testSortIsByUTF8BytesNotUnicodeEquivalence() {
        // "é" precomposed (C3 A9) and decomposed (65 CC 81) are == in Swift but distinct label values.
        let family = MetricFamily.gauge("g", help: "G.", [
            Metric([Label("n", "\u{E9}")], 1),
            Metric([Label("n", "e\u{301}")], 2),
            Metric([Label("n", "z")], 3),
        ])
        XCTAssertEqual(text([family]), "# HELP g G.\n# TYPE g gauge\ng{n=\"e\u{301}\"} 2\ng{n=\"z\"} 3\ng{n=\"\u{E9}\"} 1\n")
    }

    func testMergeKeepsFirstTypeAndFirstNonEmptyHelp() {
        let families: [MetricFamily] = [
            .gauge("up_nodes", help: "", [Metric([Label("n", "b")], 1)]),
            .gauge("up_nodes", help: "Nodes up.", [Metric([Label("n", "a")], 2)]),
            .counter("up_nodes", help: "Wrong type.", [Metric([Label("n", "c")], 3)]),
        ]
        XCTAssertEqual(text(families), """
            # HELP up_nodes Nodes up.
            # TYPE up_nodes gauge
            up_nodes{n="a"} 2
            up_nodes{n="b"} 1
            # HELP up_nodes_total Wrong type.
            # TYPE up_nodes_total counter
            up_nodes_total{n="c"} 3

            """)
        // In OpenMetrics the counter's family name is up_nodes too: conflicting type, dropped.
        XCTAssertEqual(text(families, .openMetrics100), """
            # TYPE up_nodes gauge
            # HELP up_nodes Nodes up.
            up_nodes{n="a"} 2
            up_nodes{n="b"} 1
            # EOF

            """)
    }

    func testDuplicateLabelSetsAndNamesKeepTheFirst() {
        let family = MetricFamily.gauge("g", help: "G.", [
            Metric([Label("a", "1"), Label("a", "2")], 1),
            Metric([Label("a", "1")], 2),
            Metric([Label("a", "0")], 3),
        ])
        XCTAssertEqual(text([family]), "# HELP g G.\n# TYPE g gauge\ng{a=\"0\"} 3\ng{a=\"1\"} 1\n")
    }

    func testEmptyFamiliesAreSkippedAndEmptyInputIsEmpty() {
        XCTAssertEqual(text([.gauge("g", help: "G.", [])]), "")
        XCTAssertEqual(text([]), "")
        XCTAssertEqual(text([], .openMetrics100), "# EOF\n")
    }

    func testEscaping() {
        let family = MetricFamily.gauge("g", help: "a \\ b\nc \"d\"", [
            Metric([Label("v", "back\\slash \"quote\"\nnewline ü")], 1),
        ])
        XCTAssertEqual(text([family]), """
            # HELP g a \\\\ b\\nc "d"
            # TYPE g gauge
            g{v="back\\\\slash \\"quote\\"\\nnewline ü"} 1

            """)
        XCTAssertTrue(text([family], .openMetrics100).contains("# HELP g a \\\\ b\\nc \\\"d\\\"\n"))
    }

    func testEmptyHelpWritesNoHelpLine() {
        XCTAssertEqual(text([.gauge("g", help: "", [Metric(1)])]), "# TYPE g gauge\ng 1\n")
    }

    func testDoesNotCrashOnHostileInput() {
        let families: [MetricFamily] = [
            .counter("", help: "", [Metric([Label("", "")], -1)]),
            .counter("_total", help: "", [Metric(.nan)]),
            .info("", help: "\n", [[]]),
            .histogram("h", help: "", [Metric(histogram: HistogramValue(buckets: [(5, 9), (1, 2)], count: 0, sum: .nan))]),
            MetricFamily(name: "bad name{}", help: "x", type: .gauge, metrics: [Metric([Label("1", "\u{0}")], 1)]),
        ]
        for format in [ExpositionFormat.text004, .openMetrics100] {
            XCTAssertFalse(ExpositionEncoder.encode(families, format: format).isEmpty)
        }
    }
}
