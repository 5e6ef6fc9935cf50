import Foundation
import Soak
import Testing

/// The soak of perf/soak.sh at a CI size: every REST fault on, the user stream with dropped,
/// duplicated and reordered events and dropped sockets, the market streams with skipped diffs
/// and forced disconnects — and at the end the tracker agrees with the venue order by order and
/// fill by fill, balances read back equal the venue's, and the book equalled the venue's at every
/// checkpoint.
@Suite(.serialized) struct OrderSoakTests {
  @Test func trackerAgreesWithTheVenueAfterASoak() throws {
    var c = OrderSoakConfig.allFaults(seed: 11)
    c.orders = 1_500
    c.faults.force429 = 0.002
    c.faults.force418 = 0.001
    c.faults.closeSocket = 0.003
    c.skipDiffEvery = 150
    c.streamDisconnectNs = 1_000_000_000
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
    for fault in ["user event dropped", "user event duplicated", "socket closed"] {
      #expect((r.faults[fault] ?? 0) > 0, "\(fault) injected")
    }
    #expect(r.userEvents > 1_000)
    #expect(
      r.userSubscriptions > 1 && r.reconcilesAfterResubscribe > 0, "a dropped user socket was reconciled")
    #expect(r.balancesCompared == 2)
    // Every skipped diff is detected as a gap, unless a reconnect's fresh snapshot covered it.
    #expect(r.diffsSkipped >= 5 && r.bookGaps + r.streamReconnects >= r.diffsSkipped)
    #expect(r.bookCheckpoints > 1_000 && r.bookMismatches == 0)
    #expect(r.streamReconnects >= 1, "the book came back after a dropped stream")
  }
}
