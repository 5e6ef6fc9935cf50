import Foundation
import Soak
import Testing

/// The soak of perf/soak.sh at a CI size: every REST fault on, and at the end the tracker agrees
/// with the venue order by order and fill by fill.
@Suite(.serialized) struct OrderSoakTests {
  @Test func trackerAgreesWithTheVenueAfterASoak() throws {
    var c = OrderSoakConfig.allFaults(seed: 11)
    c.orders = 1_500
    c.faults.force429 = 0.002
    c.faults.force418 = 0.001
    let r = try runOrderSoak(
      c, certificateDir: NSTemporaryDirectory() + "needletail-soak-\(UUID().uuidString)")
    print(r)
    #expect(r.agrees, "\(r)")
    #expect(r.compared >= 1_400)
    #expect(r.venueFills > 300, "enough fills to mean something")
    for fault in ["response lost after accept", "503 before processing", "500 after processing"] {
      #expect((r.faults[fault] ?? 0) > 10, "\(fault) injected")
    }
    #expect(r.faults["418 for ignoring Retry-After"] == nil)
  }
}
