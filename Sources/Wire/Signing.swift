import COpenSSL

/// Request signatures as Binance checks them: HMAC-SHA256 as lower-case hex over the payload,
/// or Ed25519 as base64.
public enum Signing {
  /// HMAC-SHA256(secret, payload) as lower-case hex.
  public static func hmacSHA256Hex(secret: String, payload: String) -> String {
    let key = Array(secret.utf8)
    let msg = Array(payload.utf8)
    var out = [UInt8](repeating: 0, count: 32)
    var len: UInt32 = 0
    _ = HMAC(EVP_sha256(), key, Int32(key.count), msg, msg.count, &out, &len)
    return out.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
      .joined()
  }

  /// Checks an Ed25519 signature (raw 64 bytes) over `payload` with a raw 32-byte public key.
  public static func verifyEd25519(publicKey: [UInt8], payload: String, signature: [UInt8]) -> Bool {
    guard publicKey.count == 32, signature.count == 64,
      let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, 32)
    else { return false }
    defer { EVP_PKEY_free(pkey) }
    guard let ctx = EVP_MD_CTX_new() else { return false }
    defer { EVP_MD_CTX_free(ctx) }
    guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else { return false }
    let msg = Array(payload.utf8)
    return EVP_DigestVerify(ctx, signature, 64, msg, msg.count) == 1
  }

  /// Ed25519 signature (64 raw bytes) over `payload` with a raw 32-byte private key seed.
  public static func signEd25519(privateKeySeed: [UInt8], payload: String) -> [UInt8]? {
    guard privateKeySeed.count == 32,
      let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateKeySeed, 32)
    else { return nil }
    defer { EVP_PKEY_free(pkey) }
    guard let ctx = EVP_MD_CTX_new() else { return nil }
    defer { EVP_MD_CTX_free(ctx) }
    guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1 else { return nil }
    let msg = Array(payload.utf8)
    var sig = [UInt8](repeating: 0, count: 64)
    var len = 64
    guard EVP_DigestSign(ctx, &sig, &len, msg, msg.count) == 1, len == 64 else { return nil }
    return sig
  }

  /// The raw 32-byte public key of a private key seed.
  public static func ed25519PublicKey(privateKeySeed: [UInt8]) -> [UInt8]? {
    guard privateKeySeed.count == 32,
      let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, privateKeySeed, 32)
    else { return nil }
    defer { EVP_PKEY_free(pkey) }
    var out = [UInt8](repeating: 0, count: 32)
    var len = 32
    guard EVP_PKEY_get_raw_public_key(pkey, &out, &len) == 1 else { return nil }
    return out
  }

  /// Constant-time comparison of two signatures.
  public static func equal(_ a: String, _ b: String) -> Bool {
    let x = Array(a.lowercased().utf8)
    let y = Array(b.lowercased().utf8)
    guard x.count == y.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<x.count { diff |= x[i] ^ y[i] }
    return diff == 0
  }
}

/// An HMAC-SHA256 key prepared once (inner and outer pad states), for signing on a hot path:
/// `signHex` allocates nothing and takes two SHA-256 continuations. The secret itself is not kept.
public final class HMACSHA256Key: @unchecked Sendable {
  let state: UnsafeMutablePointer<copenssl_hmac256_key>

  public init(secret: String) {
    state = .allocate(capacity: 1)
    var key = Array(secret.utf8)
    copenssl_hmac256_init(state, key, key.count)
    key.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
  }

  deinit {
    OPENSSL_cleanse(state, MemoryLayout<copenssl_hmac256_key>.size)
    state.deallocate()
  }

  /// Writes the signature of `count` bytes at `message` as 64 lower-case hex characters at `out`.
  @inline(__always)
  public func signHex(_ message: UnsafeRawPointer, count: Int, into out: UnsafeMutableRawPointer) {
    copenssl_hmac256_hex(state, message, count, out.assumingMemoryBound(to: CChar.self))
  }

  /// The signature as a String (tests, cold paths).
  public func hex(_ payload: String) -> String {
    var p = payload
    return p.withUTF8 { m in
      String(unsafeUninitializedCapacity: 64) { out in
        signHex(
          UnsafeRawPointer(m.baseAddress) ?? UnsafeRawPointer(out.baseAddress!), count: m.count,
          into: out.baseAddress!)
        return 64
      }
    }
  }
}
