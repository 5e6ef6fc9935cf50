import CPlatform
import Glibc

/// A pthread running a closure, optionally pinned to one CPU (`cplat_pin_current_thread`).
/// The runtime's wire and strategy threads are these; `pinned` says whether pinning worked.
public final class NativeThread: @unchecked Sendable {
  final class Box {
    let body: () -> Void
    let cpu: Int?
    let name: String
    var pinned = false
    init(_ body: @escaping () -> Void, cpu: Int?, name: String) {
      self.body = body
      self.cpu = cpu
      self.name = name
    }
  }
  var tid = pthread_t()
  let box: Box
  var joined = false

  public init(name: String, cpu: Int?, _ body: @escaping () -> Void) {
    box = Box(body, cpu: cpu, name: name)
    let unmanaged = Unmanaged.passRetained(box)
    let rc = pthread_create(
      &tid, nil,
      { arg in
        let b = Unmanaged<NativeThread.Box>.fromOpaque(arg!).takeRetainedValue()
        _ = cplat_set_thread_name(b.name)
        if let c = b.cpu { b.pinned = cplat_pin_current_thread(Int32(c)) == 0 }
        b.body()
        return nil
      }, unmanaged.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
  }

  public var pinned: Bool { box.pinned }

  public func join() {
    guard !joined else { return }
    joined = true
    pthread_join(tid, nil)
  }
}
