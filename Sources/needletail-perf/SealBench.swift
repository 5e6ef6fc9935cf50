import COpenSSL
import CPlatform
import Wire

/// `seal`: the cost of sealing and opening one 200-byte TLS 1.3 record (AES-256-GCM) with
/// RecordCipher, against the same AEAD work done the way RecordCipher did it before (every record
/// through `EVP_CipherInit_ex` with the nonce, the tag through `EVP_CIPHER_CTX_ctrl`), in
/// alternating rounds of the same run; medians of the rounds.
func benchSeal(rounds: Int = 7) {
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
  // The earlier way, on contexts keyed alike (any key: the work is the same).
  let key = [UInt8](repeating: 9, count: 32)
  let iv = [UInt8](repeating: 1, count: 12)
  let enc = EVP_CIPHER_CTX_new()!
  let dec = EVP_CIPHER_CTX_new()!
  defer {
    EVP_CIPHER_CTX_free(enc)
    EVP_CIPHER_CTX_free(dec)
  }
  _ = EVP_CipherInit_ex(enc, EVP_aes_256_gcm(), nil, key, iv, 1)
  _ = EVP_CipherInit_ex(dec, EVP_aes_256_gcm(), nil, key, iv, 0)
  func legacy(_ c: OpaquePointer, _ base: UnsafeMutablePointer<UInt8>, encrypt: Bool) -> Bool {
    var outl: Int32 = 0
    let m = Int32(201)
    guard EVP_CipherInit_ex(c, nil, nil, nil, iv, encrypt ? 1 : 0) == 1,
      EVP_CipherUpdate(c, nil, &outl, base, 5) == 1,
      EVP_CipherUpdate(c, base + 5, &outl, base + 5, m) == 1
    else { return false }
    if encrypt {
      return EVP_CipherFinal_ex(c, base + 206, &outl) == 1
        && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, base + 206) == 1
    }
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, base + 206) == 1
      && EVP_CipherFinal_ex(c, base + 206, &outl) == 1
  }
  var ours: [Double] = []
  var earlier: [Double] = []
  var opened = 0
  for _ in 0..<rounds {
    var t0 = cplat_now_ns()
    for _ in 0..<n {
      rec[5 + 200] = 23
      _ = rec.withUnsafeMutableBytes { w.seal($0) }
      if rec.withUnsafeMutableBytes({ r.open($0) }) != nil { opened += 1 }
    }
    ours.append(Double(cplat_now_ns() - t0) / Double(n))
    t0 = cplat_now_ns()
    for _ in 0..<n {
      rec.withUnsafeMutableBufferPointer {
        _ = legacy(enc, $0.baseAddress!, encrypt: true)
        if legacy(dec, $0.baseAddress!, encrypt: false) { opened += 1 }
      }
    }
    earlier.append(Double(cplat_now_ns() - t0) / Double(n))
  }
  func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
  print("seal_open_ns_per_record_pair=\(median(ours))")
  print("seal_open_earlier_ns_per_record_pair=\(median(earlier))")
  print("seal_open_ratio=\(median(ours) / median(earlier))")
  print("seal_open_authenticated=\(opened) of \(2 * rounds * n)")
}
