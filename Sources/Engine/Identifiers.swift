/// Client order ids are ours (sent as newClientOrderId); venue order ids are the exchange's.
public struct ClientOrderID: Hashable, Sendable, CustomStringConvertible {
  public var value: String
  public init(_ value: String) { self.value = value }
  public var description: String { value }
}

public struct VenueOrderID: Hashable, Sendable, CustomStringConvertible {
  public var value: Int64
  public init(_ value: Int64) { self.value = value }
  public var description: String { String(value) }
}

public enum TradeSide: Sendable, Hashable, BitwiseCopyable { case buy, sell }
