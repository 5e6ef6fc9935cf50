import Foundation
import TestSupport
import Testing

@testable import Wire

@Suite struct SigningTests {
  /// The prepared HMAC key (the order path's signer) gives Binance's published signatures, and the
  /// same as OpenSSL's one-shot HMAC for keys shorter and longer than a SHA-256 block.
  @Test func preparedHMACKeyMatchesPublishedVectorsAndOneShotHMAC() throws {
    let vectors =
      try JSONSerialization.jsonObject(with: SharedData.data("data/wire/signing/signing_vectors.json"))
      as! [[String: Any]]
    var checked = 0
    for v in vectors where (v["scheme"] as? String) == "HMAC-SHA256 hex" {
      let key = HMACSHA256Key(secret: v["secretKey"] as! String)
      #expect(key.hex(v["payload"] as! String) == v["signature"] as! String)
      checked += 1
    }
    #expect(checked >= 3)
    for secret in ["", "k", String(repeating: "x", count: 64), String(repeating: "long-secret-", count: 20)] {
      let key = HMACSHA256Key(secret: secret)
      for payload in ["", "a=1", String(repeating: "symbol=BTCUSDT&", count: 50)] {
        #expect(key.hex(payload) == Signing.hmacSHA256Hex(secret: secret, payload: payload))
      }
    }
  }
}
