/// Where an order is in its life, as the engine knows it.
public enum OrderState: String, Sendable, CaseIterable {
  /// Tracked and (about to be) sent; the venue has not confirmed it.
  case pendingCreate
  case open
  case partiallyFilled
  case filled
  /// A cancel was sent; the venue has not confirmed it.
  case pendingCancel
  case cancelled
  /// Refused by the venue (or never accepted).
  case failed
  /// Not found at the venue after repeated queries: probably never placed, or gone. A late fill
  /// is still accepted.
  case lost

  public var isDone: Bool { self == .filled || self == .cancelled || self == .failed }
  public var isOpenAtVenue: Bool { self == .open || self == .partiallyFilled || self == .pendingCancel }
}

/// What can happen to an order.
public enum OrderTransition: String, Sendable, CaseIterable {
  /// The venue confirmed the order (NEW).
  case accepted
  /// A fill that leaves quantity open.
  case partialFill
  /// A fill that completes the order.
  case fill
  /// We asked to cancel.
  case cancelRequested
  /// The venue confirmed the cancel (CANCELED), or the order expired (EXPIRED, EXPIRED_IN_MATCH).
  case cancelled
  /// The venue refused it (REJECTED, an error on placement).
  case rejected
  /// A cancel was refused because the order is unknown there, or the status query says the same,
  /// enough times in a row.
  case notFoundRepeatedly
  /// The cancel failed for another reason: the order stays open.
  case cancelFailed
}

/// The order life cycle as one table: `next(state, transition)` is the new state, or nil when
/// the pair is not allowed (the caller rejects and counts it; nothing changes).
public enum OrderLifecycle {
  public static func next(_ s: OrderState, _ t: OrderTransition) -> OrderState? {
    switch (s, t) {
    // Placement.
    case (.pendingCreate, .accepted): return .open
    case (.pendingCreate, .rejected): return .failed
    // A fill can be the first news of an order whose acknowledgement was lost or is late.
    case (.pendingCreate, .partialFill): return .partiallyFilled
    case (.pendingCreate, .fill): return .filled
    case (.pendingCreate, .cancelled): return .cancelled  // e.g. an IOC that expired at once
    case (.pendingCreate, .cancelRequested): return .pendingCancel
    case (.pendingCreate, .notFoundRepeatedly): return .lost
    // Working.
    case (.open, .partialFill), (.partiallyFilled, .partialFill): return .partiallyFilled
    case (.open, .fill), (.partiallyFilled, .fill): return .filled
    case (.open, .cancelRequested), (.partiallyFilled, .cancelRequested): return .pendingCancel
    case (.open, .cancelled), (.partiallyFilled, .cancelled): return .cancelled
    case (.open, .notFoundRepeatedly), (.partiallyFilled, .notFoundRepeatedly): return .lost
    // Duplicate or late acknowledgements change nothing.
    case (.open, .accepted), (.partiallyFilled, .accepted), (.pendingCancel, .accepted): return s
    // Cancelling: fills may still arrive (the race every market maker knows).
    case (.pendingCancel, .partialFill): return .pendingCancel
    case (.pendingCancel, .fill): return .filled
    case (.pendingCancel, .cancelled): return .cancelled
    case (.pendingCancel, .cancelFailed): return .open
    case (.pendingCancel, .notFoundRepeatedly): return .lost
    case (.pendingCancel, .cancelRequested): return .pendingCancel  // a retry
    // Lost orders still accept late news.
    case (.lost, .partialFill): return .lost
    case (.lost, .fill): return .filled
    case (.lost, .cancelled): return .cancelled
    case (.lost, .accepted): return .open  // it exists after all
    // Finished orders: a late fill on a cancelled order (fill before cancel, reported after).
    case (.cancelled, .fill), (.cancelled, .partialFill): return .cancelled
    // The same end reported by two paths (the order's answer and the account stream), a late
    // acknowledgement, or a refused cancel of an order already done: nothing changes.
    case (.cancelled, .cancelled), (.cancelled, .accepted), (.cancelled, .cancelFailed): return .cancelled
    case (.filled, .accepted), (.filled, .cancelFailed): return .filled
    default: return nil
    }
  }
}
