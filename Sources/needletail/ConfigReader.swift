import Foundation
import Yams

/// A failure while running (the venue refused, a call went unanswered): printed as "Error: …"
/// without the usage text, which is for mistakes in the command line.
struct RunFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A configuration error that names the key, the value and what is allowed.
struct ConfigError: Error, CustomStringConvertible {
  var file: String
  var path: String
  var message: String
  var description: String { "\(file): \(path.isEmpty ? "" : path + ": ")\(message)" }
}

/// Reads a YAML mapping with typed accessors; every key must be known (a typo is an error, not
/// an ignored setting), and every error says where.
struct ConfigNode {
  let file: String
  let path: String
  let node: Node?

  static func load(_ text: String, file: String) throws -> ConfigNode {
    do {
      return ConfigNode(file: file, path: "", node: try Yams.compose(yaml: text))
    } catch {
      throw ConfigError(file: file, path: "", message: "not valid YAML: \(error)")
    }
  }

  func fail(_ message: String) -> ConfigError { ConfigError(file: file, path: path, message: message) }

  func key(_ k: String) -> ConfigNode {
    ConfigNode(file: file, path: path.isEmpty ? k : path + "." + k, node: node?.mapping?[Node(k)])
  }

  /// Present and not null: YAML's null (`key:` with nothing, `~`, `null`) means "not set", as in
  /// the configs Hummingbot writes (every key of its template, the unused ones empty).
  var exists: Bool {
    guard let node else { return false }
    if case .scalar(let s) = node, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) {
      return false
    }
    return true
  }

  /// Throws when the mapping has keys outside `allowed`.
  func only(_ allowed: [String]) throws {
    guard let node else { return }
    guard let m = node.mapping else {
      throw fail("expected a mapping (key: value lines), found \(describe(node))")
    }
    for (k, _) in m {
      let name = k.string ?? "?"
      if !allowed.contains(name) {
        throw ConfigError(
          file: file, path: path.isEmpty ? name : path + "." + name,
          message: "unknown key; allowed here: \(allowed.joined(separator: ", "))")
      }
    }
  }

  func describe(_ n: Node) -> String {
    switch n {
    case .scalar(let s): "'\(s.string)'"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .alias: "an alias"
    }
  }

  func string(default d: String? = nil) throws -> String {
    guard let node, exists else {
      if let d { return d }
      throw fail("missing (required)")
    }
    guard case .scalar(let s) = node else { throw fail("expected a value, found \(describe(node))") }
    return s.string
  }

  func int(default d: Int? = nil, range: ClosedRange<Int>) throws -> Int {
    guard exists else {
      if let d { return d }
      throw fail("missing (required)")
    }
    let s = try string()
    guard let v = Int(s) else { throw fail("'\(s)' is not a whole number") }
    guard range.contains(v) else {
      throw fail("\(v) is out of range (allowed \(range.lowerBound)...\(range.upperBound))")
    }
    return v
  }

  func double(default d: Double? = nil, range: ClosedRange<Double>, what: String) throws -> Double {
    guard exists else {
      if let d { return d }
      throw fail("missing (required)")
    }
    let s = try string()
    guard let v = Double(s) else { throw fail("'\(s)' is not a number") }
    guard range.contains(v) else { throw fail("\(s) is not allowed (\(what))") }
    return v
  }

  func list() throws -> [ConfigNode] {
    guard let node, exists else { return [] }
    guard let seq = node.sequence else { throw fail("expected a list, found \(describe(node))") }
    return seq.enumerated().map { ConfigNode(file: file, path: "\(path)[\($0.offset)]", node: $0.element) }
  }

  /// The keys of a mapping with their nodes, in file order.
  func entries() throws -> [(String, ConfigNode)] {
    guard let node, exists else { return [] }
    guard let m = node.mapping else { throw fail("expected a mapping, found \(describe(node))") }
    return m.map { k, v in
      let name = k.string ?? "?"
      return (name, ConfigNode(file: file, path: path.isEmpty ? name : path + "." + name, node: v))
    }
  }

  /// A secret named by `<prefix>secret_env` (an environment variable) or `<prefix>secret_file`
  /// (a file only its owner may read); never by value in the config. Errors never contain it.
  func secret(prefix: String, environment: [String: String]) throws -> String {
    let envKey = key(prefix + "secret_env")
    let fileKey = key(prefix + "secret_file")
    if envKey.exists {
      let name = try envKey.string()
      guard let v = environment[name], !v.isEmpty else {
        throw envKey.fail(
          "environment variable \(name) is not set (the secret is never read from the config itself)")
      }
      return v
    }
    if fileKey.exists {
      let path = try fileKey.string()
      let attrs = try? FileManager.default.attributesOfItem(atPath: path)
      guard let perms = (attrs?[.posixPermissions] as? NSNumber)?.intValue else {
        throw fileKey.fail("cannot read \(path)")
      }
      guard perms & 0o077 == 0 else {
        throw fileKey.fail("\(path) is readable by others (mode \(String(perms, radix: 8))); make it 0600")
      }
      let secret =
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        ?? ""
      guard !secret.isEmpty else { throw fileKey.fail("\(path) is empty") }
      return secret
    }
    throw ConfigError(
      file: file, path: path, message: "\(prefix)secret_env or \(prefix)secret_file is required")
  }

  /// A boolean (true/false, yes/no).
  func bool(default d: Bool) throws -> Bool {
    guard exists else { return d }
    let s = try string().lowercased()
    switch s {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: throw fail("'\(s)' is not true or false")
    }
  }

  /// A decimal written as in the config (kept as text: amounts become raws once the market's
  /// scales are known), checked to be a number within `range`.
  func decimal(default d: String? = nil, range: ClosedRange<Double>, what: String) throws -> String {
    guard exists else {
      if let d { return d }
      throw fail("missing (required)")
    }
    let s = try string()
    guard let v = Double(s), v.isFinite else { throw fail("'\(s)' is not a number") }
    guard range.contains(v) else { throw fail("\(s) is not allowed (\(what))") }
    return s
  }

  /// A list of numbers, each within `range`.
  func doubles(range: ClosedRange<Double>, what: String) throws -> [Double] {
    guard let node, exists else { return [] }
    // Hummingbot writes these as "0.1,0.2" as well as as a list.
    if case .scalar(let sc) = node {
      return try sc.string.split(separator: ",").map { part in
        let t = part.trimmingCharacters(in: .whitespaces)
        guard let v = Double(t), range.contains(v) else { throw fail("'\(t)' is not allowed (\(what))") }
        return v
      }
    }
    return try list().map { try $0.double(range: range, what: what) }
  }
}
