import FastBook

/// A strategy's own account of one market, kept on the strategy thread from its fills: base and
/// quote held, the average cost of the base position, realized PnL, fees paid and volume.
///
/// Balances are in asset units of 10⁻¹⁸ (`Int128`), fine enough to hold every fee exactly;
/// position, cost, PnL and volume are in the instrument's raws (base in quantity raws, quote in
/// price·quantity raws). Fees follow Binance spot: a buyer pays in base (less base received), a
/// seller in quote (less quote received), at the maker or taker rate of `fees`, rounded down to 8
/// decimals as the venue rounds them — so the balances here equal the venue's to the unit.
/// Fees are also converted to quote at the fill's price for the PnL ("fee in quote").
public struct Portfolio: Sendable, Equatable {
  public static let unitScale = 18
  /// Base held, in units of 10⁻¹⁸.
  public var base: Int128
  /// Quote held, in units of 10⁻¹⁸.
  public var quote: Int128
  /// Signed base position built by fills since the start (buys add, sells subtract), raws.
  public private(set) var position: Int64 = 0
  /// Cost of the open position (price·quantity raws, signed like `position`).
  public private(set) var positionCost: Int128 = 0
  /// PnL closed by fills that reduced the position, fees not included (price·quantity raws).
  public private(set) var realized: Int128 = 0
  /// Every fee, in price·quantity raws at its fill's price (rounded down).
  public private(set) var feesInQuote: Int128 = 0
  public private(set) var fills = 0
  public private(set) var boughtQuantity: Int64 = 0
  public private(set) var soldQuantity: Int64 = 0
  /// Σ price·quantity traded (raws).
  public private(set) var volume: Int128 = 0
  public let fees: FeeSchema
  /// Units per base raw, per price·quantity raw, and the fee rounding step (10⁻⁸ of an asset).
  let unitsPerBaseRaw: Int128
  let unitsPerQuoteRaw: Int128
  static let feeStep: Int128 = 10_000_000_000

  public init(base: Int128, quote: Int128, fees: FeeSchema, priceScale: Int, quantityScale: Int) {
    precondition(priceScale + quantityScale <= Self.unitScale)
    self.base = base
    self.quote = quote
    self.fees = fees
    unitsPerBaseRaw = Int128(FixedPoint.pow10(Self.unitScale - quantityScale))
    unitsPerQuoteRaw = Int128(FixedPoint.pow10(Self.unitScale - priceScale - quantityScale))
  }

  /// Applies one fill of `quantity` at `price` on `side`; `taker` selects the fee rate.
  public mutating func fill(side: TradeSide, price: Int64, quantity: Int64, taker: Bool) {
    let notional = Int128(price) * Int128(quantity)
    fills += 1
    volume += notional
    let signed = side == .buy ? quantity : -quantity
    // Average-cost accounting: a fill against the position realizes the difference to its cost.
    if position == 0 || (position > 0) == (signed > 0) {
      positionCost += side == .buy ? notional : -notional
    } else {
      let closing = min(abs(signed), abs(position))
      let costOfClosed = positionCost * Int128(closing) / Int128(abs(position))
      let proceeds = Int128(price) * Int128(closing) * (position > 0 ? 1 : -1)
      realized += proceeds - costOfClosed
      positionCost -= costOfClosed
      let opening = abs(signed) - closing
      if opening > 0 {
        // The fill went through zero: the rest opens a position the other way.
        positionCost = Int128(signed > 0 ? 1 : -1) * Int128(price) * Int128(opening)
      }
    }
    position += signed
    let baseUnits = Int128(quantity) * unitsPerBaseRaw
    let quoteUnits = notional * unitsPerQuoteRaw
    let fee = self.fee(side: side, price: price, quantity: quantity, taker: taker)
    feesInQuote += fee.inQuote
    switch side {
    case .buy:
      base += baseUnits - fee.units
      quote -= quoteUnits
      boughtQuantity += quantity
    case .sell:
      base -= baseUnits
      quote += quoteUnits - fee.units
      soldQuantity += quantity
    }
  }

  /// The fee one fill pays, in its own asset's units (the buyer's in base, the seller's in
  /// quote), and the same in quote as price·quantity raws at the fill's price (rounded down).
  public func fee(side: TradeSide, price: Int64, quantity: Int64, taker: Bool) -> (
    units: Int128, inQuote: Int128
  ) {
    let rate = Int128(taker ? fees.takerRate : fees.makerRate)
    switch side {
    case .buy:
      let fee = Self.commission(Int128(quantity) * unitsPerBaseRaw, rate: rate)
      return (fee, fee * Int128(price) / unitsPerBaseRaw)
    case .sell:
      let fee = Self.commission(Int128(price) * Int128(quantity) * unitsPerQuoteRaw, rate: rate)
      return (fee, fee / unitsPerQuoteRaw)
    }
  }

  /// `units` × `rate` (scale 8), rounded down to 8 decimals: Binance's commission.
  static func commission(_ units: Int128, rate: Int128) -> Int128 {
    let exact = units * rate / 100_000_000
    return exact / feeStep * feeStep
  }

  /// The open position valued at `mark` (a price raw) less its cost (price·quantity raws).
  public func unrealized(mark: Int64) -> Int128 {
    Int128(position) * Int128(mark) - positionCost
  }

  /// Base in quantity raws (rounded down: what could be sold).
  public var baseRaw: Int64 { Int64(base / unitsPerBaseRaw) }
  /// Quote in price·quantity raws (rounded down: what could be spent).
  public var quoteRaw: Int128 { quote / unitsPerQuoteRaw }

  /// Base and quote valued in quote at `mark`, in price·quantity raws (from the exact units: a
  /// fee's fraction of a lot counts).
  public func value(mark: Int64) -> Int128 { base * Int128(mark) / unitsPerBaseRaw + quoteRaw }

  /// Average cost of the open position as a price raw, or nil when flat.
  public var averageCost: Int64? {
    position == 0 ? nil : Int64(positionCost / Int128(position))
  }
}
