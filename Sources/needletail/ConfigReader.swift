import Yams

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

  var exists: Bool { node != nil && node != Node("~") }

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
}
