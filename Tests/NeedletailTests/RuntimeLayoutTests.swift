import Foundation
import Testing
import Venue

@testable import needletail

/// `run` on the pinned two-thread layout, as a user configures it: the wire thread on CPU 0, the
/// strategy thread spinning on CPU 1, event-driven pure market making re-quoting at every mid
/// move of the Venue's book while another account trades into its quotes. The run says how it is
/// laid out, its threads are pinned where it said (the kernel's view, /proc), it trades (orders
/// placed, replaced, filled), stops flat, and reports its tick-to-trade and its allocator.
@Suite(.serialized) struct RuntimeLayoutTests {
  /// The first two CPUs this process may run on (the test pins the run's threads to them).
  static let cpus = RuntimeSettings.allowedCPUs()
  static var twoCPUs: Bool { cpus.count >= 2 }

  /// The CPUs a thread of `pid` named `name` may run on, as /proc says ("1", "0-1"), or nil.
  static func allowedCPUs(pid: Int32, thread name: String) -> String? {
    let dir = "/proc/\(pid)/task"
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
      guard
        let comm = try? String(contentsOfFile: "\(dir)/\(tid)/comm", encoding: .utf8),
        comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
        let status = try? String(contentsOfFile: "\(dir)/\(tid)/status", encoding: .utf8)
      else { continue }
      for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
        return line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
      }
    }
    return nil
  }

  @Test(.enabled(if: twoCPUs, "needs two CPUs to pin two threads"))
  func runTradesOnThePinnedTwoThreadLayout() throws {
    if BinaryVenue.missing() { return }
    let v = try BinaryVenue()
    try v.rest([("BTCUSDT", .BUY, 9_990), ("BTCUSDT", .SELL, 10_010)])
    let config = try v.config(
      """
      market: BTCUSDT
      clock_tick: 0.1
      status_every: 1
      strategy: pure_market_making
      pure_market_making: {bid_spread: 0.05, ask_spread: 0.05, order_amount: "0.01", order_refresh_time: 600, order_refresh_tolerance_pct: 0, event_driven: true}
      runtime: {layout: two-threads, idle: spin, cpus: {wire: \(Self.cpus[0]), strategy: \(Self.cpus[1])}}
      """)
    let out = Pipe()
    let p = try v.start(["run", config, "--db", v.dir + "/h.sqlite", "--duration", "4"], output: out)
    // While it runs: the book's mid moves every 150 ms (a level added or taken away on each
    // side), and every 600 ms account 9 sells into the best bid.
    var pins: (wire: String?, strategy: String?) = (nil, nil)
    var step = 0
    var nextMove = Date().addingTimeInterval(1.5)
    var resting: [Int64] = []
    v.loop.run(timeoutNs: 30_000_000_000) {
      if pins.strategy == nil {
        pins.strategy = Self.allowedCPUs(pid: p.processIdentifier, thread: "nt-strategy")
      }
      if pins.wire == nil, pins.strategy != nil {  // the wire thread is pinned before the strategy thread starts
        pins.wire = Self.allowedCPUs(pid: p.processIdentifier, thread: "needletail")
      }
      if Date() >= nextMove, p.isRunning {
        nextMove = Date().addingTimeInterval(0.15)
        step += 1
        if step % 2 == 1 {
          var bid = NewOrder(account: 9, symbol: "BTCUSDT", side: .BUY, type: .LIMIT)
          bid.priceTicks = 9_991 + Int64(step % 8)
          bid.quantity = 10_000
          if let r = try? v.engine.place(bid) { resting.append(r.order.orderId) }
        } else if let id = resting.first {
          resting.removeFirst()
          _ = try? v.engine.cancel(account: 9, symbol: "BTCUSDT", orderId: id)
        }
        if step % 4 == 0 { try? v.trade(.SELL, lots: 500) }
      }
      return !p.isRunning
    }
    let (status, output) = v.finish(p, output: out)
    #expect(status == 0, "\(output)")
    #expect(
      output.contains(
        "runtime: two-threads, both spinning: wire CPU \(Self.cpus[0]), strategy CPU \(Self.cpus[1])"),
      "\(output)")
    #expect(
      pins.strategy == "\(Self.cpus[1])" && pins.wire == "\(Self.cpus[0])", "pinned as configured: \(pins)")
    let ours = v.engine.orders.values.filter { $0.account == 1 }
    let fills = v.engine.myTrades(account: 1, symbol: "BTCUSDT")
    #expect(ours.count >= 6, "it quoted and re-quoted: \(ours.count) orders\n\(output)")
    #expect(!fills.isEmpty, "its quotes were filled\n\(output)")
    #expect(v.engine.openOrders(account: 1).isEmpty, "it stopped flat")
    #expect(output.contains("tick-to-trade, book change → order sent,"), "\(output)")
    #expect(output.contains("(jemalloc 5."), "\(output)")
    #expect(output.contains("history: run 1"), "\(output)")
  }
}
