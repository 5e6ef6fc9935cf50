import FastBook

/// Top of book at one point: ticks and quantity raws (nil sides are empty).
public struct TopOfBook: Equatable, Sendable {
  public var updateID: Int64
  public var bid: BookLevel?
  public var ask: BookLevel?
  public init(updateID: Int64, bid: BookLevel?, ask: BookLevel?) {
    self.updateID = updateID
    self.bid = bid
    self.ask = ask
  }
}
