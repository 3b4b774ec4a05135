import XCTest
@testable import Exposition
final class PlaceholderTests: XCTestCase { func testNothing() {} }
