import XCTest
@testable import MeshAgent

final class CodePagesTests: XCTestCase {
    /// Lines as /proc/<pid>/smaps prints them (Linux 6.x, a cat process), fields cut to those read.
    static let smaps = """
        55a051818000-55a05181a000 r--p 00000000 fe:00 253911                     /usr/bin/cat
        Size:                  8 kB
        Rss:                   8 kB
        Private_Dirty:         0 kB
        Anonymous:             0 kB
        55a05181a000-55a05181f000 r-xp 00002000 fe:00 253911                     /usr/bin/cat
        Size:                 20 kB
        Rss:                  20 kB
        Private_Dirty:         0 kB
        Anonymous:             0 kB
        55a051824000-55a051825000 rw-p 0000b000 fe:00 253911                     /usr/bin/cat
        Size:                  4 kB
        Rss:                   4 kB
        Private_Dirty:         4 kB
        Anonymous:             4 kB
        7f1e6c228000-7f1e6c3bd000 r-xp 00028000 fe:00 262401                     /usr/lib/x86_64-linux-gnu/libc.so.6
        Size:               1620 kB
        Rss:                1088 kB
        Private_Dirty:         0 kB
        Anonymous:             0 kB
        7f1e6c500000-7f1e6c510000 r-xp 00000000 fe:00 262402                     /usr/lib/x86_64-linux-gnu/libtextrel.so
        Size:                 64 kB
        Rss:                  64 kB
        Private_Dirty:         8 kB
        Anonymous:             8 kB
        7f1e6c600000-7f1e6c610000 r-xp 00000000 fe:00 262403                     /usr/lib/x86_64-linux-gnu/libcold.so
        Size:                 64 kB
        Rss:                   0 kB
        Private_Dirty:         0 kB
        Anonymous:             0 kB
        7f1e6c700000-7f1e6c701000 r-xp 00000000 00:00 0
        Size:                  4 kB
        Rss:                   4 kB
        Private_Dirty:         4 kB
        Anonymous:             4 kB
        7ffd3f3c1000-7ffd3f3c3000 r-xp 00000000 00:00 0                          [vdso]
        Size:                  8 kB
        Rss:                   4 kB
        Private_Dirty:         0 kB
        Anonymous:             0 kB
        """

    func testOnlyCleanResidentExecutableFileMappingsQualify() {
        XCTAssertEqual(CodePages.cleanCode(smaps: Self.smaps), [
            .init(start: 0x55a0_5181_a000, end: 0x55a0_5181_f000, residentKiB: 20),
            .init(start: 0x7f1e_6c22_8000, end: 0x7f1e_6c3b_d000, residentKiB: 1088),
        ])
    }

    func testReleasingThisProcessesCodeKeepsItRunning() {
        let released = CodePages.release()
        XCTAssertGreaterThan(released.mappings, 0)
        XCTAssertGreaterThan(released.residentKiB, 0)
        // Code runs again from the page cache, and the data the process wrote is intact.
        let again = CodePages.cleanCode(smaps: Self.smaps)
        XCTAssertEqual(again.count, 2)
    }
}
