import COpenSSL
import Synchronization

/// TLS 1.3 application-data record protection done here instead of through `SSL_read` and
/// `SSL_write`: after OpenSSL finishes the handshake, each direction gets one pre-keyed EVP
/// AES-GCM context, and a record costs one AEAD call, in place, with no allocation. OpenSSL keeps
/// the handshake, certificate checks and everything before the switch.
///
/// How (RFC 8446 §5.2–5.3, §7.1–7.3):
/// 1. The key-log callback hands us each connection's client and server application traffic
///    secrets as OpenSSL derives them.
/// 2. key = HKDF-Expand-Label(secret, "key", "", key length); iv = HKDF-Expand-Label(secret,
///    "iv", "", 12), with the cipher suite's hash.
/// 3. Record n: nonce = iv XOR n (big-endian, right-aligned); AAD = the 5-byte record header;
///    plaintext = data ‖ inner content type; the 16-byte tag follows the ciphertext.
/// 4. KeyUpdate: secret' = HKDF-Expand-Label(secret, "traffic upd", "", hash length).
///
/// Used only for TLS 1.3 with TLS_AES_128_GCM_SHA256 or TLS_AES_256_GCM_SHA384; anything else
/// stays on OpenSSL's record layer. The switch happens at the end of the handshake, when OpenSSL
/// (read-ahead off) has read nothing past the peer's Finished, so both sequence numbers start at
/// 0; a server sends no session tickets, so its own write sequence starts at 0 too.
package final class RecordCipher {
  let ctx: OpaquePointer
  let cipher: OpaquePointer
  let md: OpaquePointer
  let keyLength: Int
  let encrypting: Bool
  var secret: [UInt8]
  var iv = [UInt8](repeating: 0, count: 12)
  /// `iv`, where the record path reads it (no array access, so no exclusivity check per record).
  let ivBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 12)
  var sequence: UInt64 = 0

  package init?(secret: [UInt8], cipherSuite: UInt32, encrypting: Bool) {
    switch cipherSuite & 0xFFFF {
    case 0x1301:  // TLS_AES_128_GCM_SHA256
      cipher = EVP_aes_128_gcm()
      md = EVP_sha256()
      keyLength = 16
    case 0x1302:  // TLS_AES_256_GCM_SHA384
      cipher = EVP_aes_256_gcm()
      md = EVP_sha384()
      keyLength = 32
    default:
      return nil
    }
    guard let c = EVP_CIPHER_CTX_new() else { return nil }
    ctx = c
    self.encrypting = encrypting
    self.secret = secret
    guard rekey() else { return nil }
  }

  deinit {
    EVP_CIPHER_CTX_free(ctx)
    ivBytes.deallocate()
  }

  /// Derives key and IV from `secret` and keys the context.
  func rekey() -> Bool {
    let key = hkdfExpandLabel(secret, "key", keyLength)
    iv = hkdfExpandLabel(secret, "iv", 12)
    for i in 0..<12 { ivBytes[i] = iv[i] }
    sequence = 0
    return EVP_CipherInit_ex(ctx, cipher, nil, key, iv, encrypting ? 1 : 0) == 1
  }

  /// After a KeyUpdate: the next generation of the traffic secret.
  func update() -> Bool {
    secret = hkdfExpandLabel(secret, "traffic upd", Int(EVP_MD_get_size(md)))
    return rekey()
  }

  func hkdfExpandLabel(_ secret: [UInt8], _ label: String, _ length: Int) -> [UInt8] {
    let full = Array(("tls13 " + label).utf8)
    var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
    info.append(1)  // HKDF-Expand, first block: every length here is at most one hash
    var out = [UInt8](repeating: 0, count: 64)
    var outLength: UInt32 = 0
    _ = HMAC(md, secret, Int32(secret.count), info, info.count, &out, &outLength)
    return Array(out[0..<length])
  }

  /// Seals a record in place: `record` = header(5) ‖ plaintext ‖ room for the 16-byte tag, the
  /// plaintext already ending with its inner content type.
  package func seal(_ record: UnsafeMutableRawBufferPointer) -> Bool {
    let seq = sequence
    sequence &+= 1
    let base = record.baseAddress!.assumingMemoryBound(to: UInt8.self)
    return copenssl_gcm_seal(ctx, ivBytes, seq, base, Int32(record.count - 5 - 16)) == 1
  }

  /// Opens a whole record in place; returns the plaintext's length (inner type included) or nil
  /// when the record does not authenticate.
  package func open(_ record: UnsafeMutableRawBufferPointer) -> Int? {
    guard record.count >= 5 + 16 + 1 else { return nil }
    let seq = sequence
    sequence &+= 1
    let base = record.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let n = record.count - 5 - 16
    return copenssl_gcm_open(ctx, ivBytes, seq, base, Int32(n)) == 1 ? n : nil
  }
}

/// Traffic secrets by connection, filled by OpenSSL's key-log callback during handshakes.
enum TrafficSecrets {
  struct Pair {
    var client: [UInt8]?
    var server: [UInt8]?
  }
  static let table = Mutex<[UInt: Pair]>([:])

  static let callback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void = { ssl, line in
    guard let ssl, let line else { return }
    let parts = String(cString: line).split(separator: " ")
    guard parts.count == 3 else { return }
    let isClient = parts[0] == "CLIENT_TRAFFIC_SECRET_0"
    guard isClient || parts[0] == "SERVER_TRAFFIC_SECRET_0" else { return }
    var bytes: [UInt8] = []
    var hex = parts[2].utf8.makeIterator()
    while let h = hex.next(), let l = hex.next() {
      func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
      bytes.append(v(h) << 4 | v(l))
    }
    let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(ssl)))
    table.withLock { t in
      if isClient { t[key, default: Pair()].client = bytes } else { t[key, default: Pair()].server = bytes }
    }
  }

  /// Takes (and forgets) the secrets of `ssl`.
  static func take(_ ssl: OpaquePointer) -> Pair? {
    let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(ssl)))
    return table.withLock { $0.removeValue(forKey: key) }
  }
}
