import CPlatform
import Wire

/// `seal`: the cost of sealing and opening one 200-byte TLS 1.3 record with RecordCipher.
func benchSeal() {
  let secret = [UInt8](repeating: 7, count: 48)
  let w = RecordCipher(secret: secret, cipherSuite: 0x1302, encrypting: true)!
  let r = RecordCipher(secret: secret, cipherSuite: 0x1302, encrypting: false)!
  var rec = [UInt8](repeating: 0, count: 5 + 201 + 16)
  rec[0] = 23
  rec[1] = 3
  rec[2] = 3
  rec[3] = UInt8((201 + 16) >> 8)
  rec[4] = UInt8((201 + 16) & 0xFF)
  let n = 200_000
  let t0 = cplat_now_ns()
  for _ in 0..<n {
    rec[5 + 200] = 23
    _ = rec.withUnsafeMutableBytes { w.seal($0) }
    _ = rec.withUnsafeMutableBytes { r.open($0) }
  }
  let t1 = cplat_now_ns()
  print("seal_open_ns_per_record_pair=\(Double(t1 - t0) / Double(n))")
}
