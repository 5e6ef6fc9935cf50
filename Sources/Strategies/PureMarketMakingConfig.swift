import Engine
import FastBook

/// Hummingbot's pure market making parameters, with its defaults and meanings. Spreads and
/// percentages are fractions here (Hummingbot's `bid_spread: 1` is 1 % = 0.01); times are
/// nanoseconds; prices are price raws and amounts quantity raws of the instrument.
public struct PureMarketMakingConfig: Sendable, Equatable {
  public var bidSpread = 0.01
  public var askSpread = 0.01
  /// Active orders closer than this to the reference price are cancelled (nil: off).
  public var minimumSpread: Double? = nil
  /// Orders are replaced this long after they were placed (unless within the tolerance).
  public var orderRefreshTimeNs: Int64 = 30_000_000_000
  /// Orders older than this are replaced even when within the tolerance.
  public var maxOrderAgeNs: Int64 = 1_800_000_000_000
  /// At refresh, orders whose prices are all within this fraction of the new proposal stay
  /// (negative: always replace).
  public var orderRefreshTolerance = 0.0
  public var orderAmount: Int64 = 0
  public var orderLevels = 1
  /// Added to the amount per level away from the top.
  public var orderLevelAmount: Int64 = 0
  /// Added to the spread per level away from the top.
  public var orderLevelSpread = 0.01
  /// Split order levels: per-level spreads and amounts (both sides' lists of equal length);
  /// empty: levels from `orderLevels`.
  public var bidLevelSpreads: [Double] = []
  public var askLevelSpreads: [Double] = []
  public var bidLevelAmounts: [Int64] = []
  public var askLevelAmounts: [Int64] = []
  public var inventorySkew = false
  /// Target share of the portfolio's value held in base.
  public var inventoryTargetBase = 0.5
  /// The range over which sizes are skewed, in multiples of the total order size.
  public var inventoryRangeMultiplier = 1.0
  /// After an order is filled completely, new orders wait this long.
  public var filledOrderDelayNs: Int64 = 60_000_000_000
  /// After a fill, the other side's orders stay ("hang") through refreshes…
  public var hangingOrders = false
  /// …until they are farther than this fraction from the reference price.
  public var hangingOrdersCancel = 0.10
  /// Jump the top: buys at most one tick above the best bid (after ignoring `bidOptimizationDepth`
  /// of volume and our own orders), sells at most one tick below the best ask.
  public var orderOptimization = false
  public var bidOptimizationDepth: Int64 = 0
  public var askOptimizationDepth: Int64 = 0
  /// Widen prices by the maker fee so a round trip covers it.
  public var addTransactionCosts = false
  /// Static band: no buys at or above the ceiling, no sells at or below the floor (price raws).
  public var priceCeiling: Int64? = nil
  public var priceFloor: Int64? = nil
  /// Moving band: ceiling and floor set this fraction around the price, reset every refresh time.
  public var movingPriceBand = false
  public var movingPriceCeiling = 0.01
  public var movingPriceFloor = 0.01
  public var movingPriceBandRefreshNs: Int64 = 86_400_000_000_000
  /// After a buy fills, the next buy waits for a sell to fill (and the other way round).
  public var pingPong = false
  public var priceType: PriceType = .mid
  /// Hummingbot's `price_source` other than the current market (an external market's ticker or
  /// a custom HTTP feed): the reference price comes from here instead of this market's book,
  /// and counts as missing when older than `externalPriceMaxAgeNs` — then nothing is placed and
  /// the working quotes are pulled.
  public var externalPrice: ExternalPrice? = nil
  public var externalPriceMaxAgeNs: Int64 = 30_000_000_000
  /// Keep proposals that would cross the book (they trade at once as takers).
  public var takeIfCrossed = false
  public var orderOverrides: [OrderOverride] = []
  /// Place new orders only once every cancel has been confirmed.
  public var waitForCancelConfirmation = true
  /// Beyond Hummingbot: also re-quote on a book change, as soon as the reference price has moved
  /// beyond the refresh tolerance — not only on the Clock's tick.
  public var eventDriven = false
  /// Stop (cancel everything, place nothing) when PnL as a fraction of the starting value
  /// reaches this (negative: a loss; positive: a profit). Checked on every fill.
  public var killSwitch: Double? = nil

  public init() {}

  /// Levels per side the proposal has (what budgets and the inventory range count).
  public var levelCount: Int {
    if !orderOverrides.isEmpty { return orderOverrides.count }
    if !bidLevelSpreads.isEmpty || !askLevelSpreads.isEmpty {
      return max(bidLevelSpreads.count, askLevelSpreads.count)
    }
    return orderLevels
  }
}
