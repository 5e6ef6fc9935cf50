import Engine
import FastBook

/// What `needletail history` prints for one run: its fills replayed through a `Portfolio` from
/// the run's starting balances — fills, volume, fees in quote, realized and unrealized PnL (marked
/// at the last fill's price), inventory.
public struct RunHistory: Sendable {
  public var run: RunInfo
  public var orders: Int
  /// Orders not known to be done (after a clean stop: 0).
  public var inFlight: Int
  public var fills: Int
  /// Fills of this run not kept because their trade id on the venue was already kept for
  /// another order, side, price or quantity (`TradeStore.conflicts(run:)`): not in the figures.
  public var conflicts: Int
  public var bought: Int64
  public var sold: Int64
  /// Σ price·quantity (raws at price scale + quantity scale).
  public var volume: Int128
  /// Σ of the fills' fees in quote (price·quantity raws).
  public var fees: Int128
  public var realized: Int128
  public var unrealized: Int128
  public var position: Int64
  /// The last fill's price (the mark for `unrealized`); 0 with no fills.
  public var mark: Int64
  /// Balances after the fills, in asset units of 10⁻¹⁸.
  public var endBase: Int128
  public var endQuote: Int128

  /// One summary per run in the store, oldest first (`run`: only that one).
  public static func load(_ store: TradeStore, run only: Int64? = nil) throws -> [RunHistory] {
    try store.runs().filter { only == nil || $0.id == only }.map { r in
      let orders = try store.orders(run: r.id)
      let fills = try store.fills(run: r.id)
      var p = Portfolio(
        base: r.startBase, quote: r.startQuote, fees: r.fees, priceScale: r.priceScale,
        quantityScale: r.quantityScale)
      var fees: Int128 = 0
      for f in fills {
        p.fill(side: f.side, price: f.price, quantity: f.quantity, taker: false)
        fees += Int128(f.feeQuote)
      }
      let mark = fills.last?.price ?? 0
      return RunHistory(
        run: r, orders: orders.count,
        inFlight: orders.filter { TradeStore.inFlightStates.contains($0.state) }.count,
        fills: fills.count, conflicts: try store.conflicts(run: r.id).count, bought: p.boughtQuantity,
        sold: p.soldQuantity, volume: p.volume, fees: fees,
        realized: p.realized, unrealized: p.unrealized(mark: mark), position: p.position, mark: mark,
        endBase: p.base, endQuote: p.quote)
    }
  }

  /// A price·quantity raw as quote with 2 decimals (cut toward zero).
  public func quote(_ raw: Int128) -> String {
    let scale = run.priceScale + run.quantityScale
    guard scale > 2 else { return FixedPoint.format(Int64(raw), scale: scale) }
    return FixedPoint.format(Int64(raw / Int128(FixedPoint.pow10(scale - 2))), scale: 2)
  }

  public func units(_ u: Int128, _ decimals: Int) -> String {
    FixedPoint.format(Int64(u / Int128(FixedPoint.pow10(Portfolio.unitScale - decimals))), scale: decimals)
  }

  public func qty(_ raw: Int64) -> String { FixedPoint.format(raw, scale: run.quantityScale) }
  public func px(_ raw: Int64) -> String { FixedPoint.format(raw, scale: run.priceScale) }

  /// The lines `needletail history` prints for this run.
  public var report: String {
    let (b, q) = (run.baseAsset, run.quoteAsset)
    let conflictLine =
      conflicts == 0
      ? ""
      : "\n  CONFLICTS: \(conflicts) fills were not kept: the venue's trade id was already kept for another order, side, price or quantity (--fills lists them)"
    return """
      run \(run.id) (\(run.mode), \(run.symbol) on \(run.venue), ids \(run.prefix)…): \(orders) orders\(inFlight > 0 ? " (\(inFlight) not known to be done)" : ""), \(fills) fills
        bought \(qty(bought)) \(b), sold \(qty(sold)) \(b), volume \(quote(volume)) \(q), fees \(quote(fees)) \(q)
        PnL: realized \(quote(realized)) \(q), unrealized \(quote(unrealized)) \(q) on \(qty(position)) \(b) at \(px(mark)) (fees not included)
        inventory: \(b) \(units(run.startBase, 5)) → \(units(endBase, 5)), \(q) \(units(run.startQuote, 2)) → \(units(endQuote, 2))
      """ + conflictLine
  }
}
