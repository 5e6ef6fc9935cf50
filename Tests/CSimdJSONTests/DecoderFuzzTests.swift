import CSimdJSON
import FastBook
import Foundation
import TestSupport
import Testing

/// Every wire sample, cut and mutated at random: the decoder must answer with a status every
/// time (never crash), and an error must leave nothing that looks like data.
@Suite struct DecoderFuzzTests {
  static let samples: [URL] = SharedData.files(under: "data/wire")

  @Test func thereAreSamples() { #expect(Self.samples.count > 100) }

  @Test func truncationsAreErrors() throws {
    let h = Harness()
    var checked = 0
    for url in Self.samples {
      let bytes = [UInt8](try Data(contentsOf: url))
      guard h.decode(bytes) == NT_OK else { continue }  // only messages the decoder accepts whole
      // Every proper prefix that ends inside the root object is malformed JSON.
      let end = bytes.lastIndex(of: UInt8(ascii: "}"))!
      var cut = 0
      while cut < end {
        let st = h.decode(Array(bytes[0..<cut]), padded: cut % 2 == 0)
        #expect(st != NT_OK, "\(url.lastPathComponent) cut at \(cut)")
        #expect(h.msg.kind == NT_MSG_NONE && h.msg.depth.bids.count == 0 && h.msg.depth.asks.count == 0)
        checked += 1
        cut += max(1, bytes.count / 400)
      }
    }
    #expect(checked > 1000)
  }

  @Test func randomMutationsNeverCrash() throws {
    let h = Harness(maxBytes: 1 << 16, levels: 64)
    var rng = SplitMix64(seed: 2026)
    var statuses: [UInt32: Int] = [:]
    let interesting: [UInt8] = Array(#"{}[]",:"0123456789.-eEtrufalsn\ "#.utf8) + [0, 0xff, 0xc3]
    for url in Self.samples {
      let original = [UInt8](try Data(contentsOf: url))
      for _ in 0..<300 {
        var b = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          guard !b.isEmpty else { break }
          let i = Int.random(in: 0..<b.count, using: &rng)
          switch Int.random(in: 0..<41, using: &rng) {
          case 40:  // a frame larger than the decoder takes
            b += [UInt8](repeating: UInt8(ascii: " "), count: 1 << 16)
          case 0..<8: b[i] = interesting.randomElement(using: &rng)!
          case 8..<16: b.remove(at: i)
          case 16..<24: b.insert(interesting.randomElement(using: &rng)!, at: i)
          case 24..<32: b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
          default:  // duplicate a slice: deep nesting, repeated keys, oversize arrays
            let j = min(b.count, i + Int.random(in: 1...40, using: &rng))
            b.insert(contentsOf: b[i..<j], at: i)
          }
        }
        let st = h.decode(b, padded: Bool.random(using: &rng))
        statuses[st.rawValue, default: 0] += 1
        if st == NT_OK {
          #expect(h.msg.kind != NT_MSG_NONE)
          #expect(h.msg.depth.bids.count <= 64 && h.msg.depth.asks.count <= 64)
        } else {
          #expect(h.msg.kind == NT_MSG_NONE && h.msg.depth.bids.count == 0 && h.msg.depth.asks.count == 0)
          #expect(h.error.status == st)
        }
      }
    }
    // The fuzz must reach the error paths, not only the happy one.
    for s in [
      NT_ERR_MALFORMED_JSON, NT_ERR_WRONG_TYPE, NT_ERR_BAD_NUMBER, NT_ERR_UNKNOWN_MESSAGE, NT_ERR_TOO_LARGE,
    ] {
      #expect(statuses[s.rawValue, default: 0] > 0, "never saw status \(s.rawValue): \(statuses)")
    }
  }
}
