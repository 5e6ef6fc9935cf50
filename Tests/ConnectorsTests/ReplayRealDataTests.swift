import Connectors
import FastBook
import Foundation
import TestSupport
import Testing

struct Dataset: CustomStringConvertible, Sendable {
  var name: String
  var files: [String]
  var rule: BinanceSyncRule
  var confirmed: Int
  var description: String { name }
}

let datasets = [
  Dataset(
    name: "binance-spot_btcusdt",
    files: ["binance-spot/btcusdt_20240808.gz", "binance-spot/btcusdt_20240809.gz"], rule: .spot,
    confirmed: 1072),
  Dataset(
    name: "binance-usdm_btcusdt", files: ["binance-usdm/btcusdt_20240808.gz"], rule: .futures, confirmed: 629),
  Dataset(
    name: "binance-coinm_btcusd_perp",
    files: ["binance-coinm/btcusd_perp_20240808.gz", "binance-coinm/btcusd_perp_20240809.gz"], rule: .futures,
    confirmed: 1885),
]

/// The expected outputs in shared/data/market/expected, read with Foundation (independently of
/// the decoders under test) and converted with the instrument's exact parser.
struct Expected {
  var tops: [TopOfBook]
  var confirmed: Set<Int64>
  var finalUpdateID: Int64
  var finalBids: [BookLevel]
  var finalAsks: [BookLevel]

  init(_ name: String, instrument: Instrument) throws {
    let csv = try String(contentsOf: SharedData.url("data/market/expected/\(name).tob.csv"), encoding: .utf8)
    var tops: [TopOfBook] = []
    var confirmed = Set<Int64>()
    for line in csv.split(separator: "\n").dropFirst() {
      let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      let u = Int64(f[0])!
      func level(_ p: String, _ q: String) throws -> BookLevel? {
        p == "None"
          ? nil : BookLevel(tick: try instrument.parseTick(p), quantity: try instrument.parseQuantity(q).raw)
      }
      tops.append(TopOfBook(updateID: u, bid: try level(f[2], f[3]), ask: try level(f[4], f[5])))
      if f[6] == "1" { confirmed.insert(u) }
    }
    self.tops = tops
    self.confirmed = confirmed
    let json =
      try JSONSerialization.jsonObject(with: SharedData.data("data/market/expected/\(name).final_book.json"))
      as! [String: Any]
    finalUpdateID = (json["lastUpdateId"] as! NSNumber).int64Value
    func levels(_ key: String) throws -> [BookLevel] {
      try (json[key] as! [[String]]).map {
        BookLevel(tick: try instrument.parseTick($0[0]), quantity: try instrument.parseQuantity($0[1]).raw)
      }
    }
    finalBids = try levels("bids")
    finalAsks = try levels("asks")
  }
}

@Suite struct ReplayRealDataTests {
  func replay(_ d: Dataset, threads: Int) throws -> (BinanceCaptureReplay.Result, Instrument) {
    let files = d.files.map { SharedData.url("data/market/\($0)").path }
    let instrument = try #require(try BinanceCaptureReplay.inferInstrument(files: files))
    var opts = BinanceCaptureReplay.Options(files: files, instrument: instrument, rule: d.rule)
    opts.threads = threads
    return (try BinanceCaptureReplay(options: opts).run(), instrument)
  }

  /// The book after every applied diff equals the reference replayer's, and at every point the
  /// exchange's own bookTicker confirms (1,072 / 629 / 1,885) it equals the bookTicker exactly;
  /// the final book equals the expected one level for level.
  @Test(arguments: datasets)
  func reproducesTheCapture(dataset: Dataset) throws {
    let (r, instrument) = try replay(dataset, threads: 2)
    let expected = try Expected(dataset.name, instrument: instrument)
    #expect(r.sync.gaps == 0 && r.sync.snapshotMismatches == 0 && r.resets == 0)
    #expect(r.decodeErrors == 0 && r.capacityFailures == 0 && r.book.isExact)
    #expect(r.sync.offTickLevels == 0)
    #expect(r.tops.count == expected.tops.count, "applied diffs")
    var firstDiff: Int? = nil
    for (i, (got, want)) in zip(r.tops, expected.tops).enumerated() where got != want {
      firstDiff = i
      break
    }
    #expect(firstDiff == nil, "first top-of-book difference at diff #\(firstDiff ?? -1)")
    // The independent oracle: bookTicker messages with the same update id.
    #expect(r.bookTickerSameU == dataset.confirmed)
    #expect(r.bookTickerMatches == dataset.confirmed)
    #expect(r.bookTickerMismatches.isEmpty)
    let confirmedSeen = Set(r.tops.map(\.updateID)).intersection(expected.confirmed).count
    #expect(confirmedSeen == dataset.confirmed)
    // The final book, every level.
    if case .synced(let last) = r.state {
      #expect(last == expected.finalUpdateID)
    } else {
      Issue.record("not synced")
    }
    let bids = r.book.levels(.bid)
    let asks = r.book.levels(.ask)
    #expect(bids.count == expected.finalBids.count && asks.count == expected.finalAsks.count)
    let sameBids = bids == expected.finalBids
    let sameAsks = asks == expected.finalAsks
    #expect(sameBids && sameAsks, "final book level for level")
    r.book.checkInvariants()
  }

  @Test func singleThreadLayoutGivesTheSameBook() throws {
    let (two, _) = try replay(datasets[0], threads: 2)
    let (one, _) = try replay(datasets[0], threads: 1)
    #expect(one.tops.count == two.tops.count && one.tops.count > 6000)
    let sameTops = one.tops == two.tops
    let sameBids = one.book.levels(.bid) == two.book.levels(.bid)
    let sameAsks = one.book.levels(.ask) == two.book.levels(.ask)
    #expect(sameTops && sameBids && sameAsks)
  }
}
