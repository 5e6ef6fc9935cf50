import Foundation

/// Where `../shared` is: `$NEEDLETAIL_SHARED`, or the folder beside the package root.
public enum SharedData {
  public static let root: URL = {
    if let env = ProcessInfo.processInfo.environment["NEEDLETAIL_SHARED"] {
      return URL(fileURLWithPath: env)
    }
    // Tests/TestSupport/SharedData.swift → package root → its parent.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
  }()

  public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

  public static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

  /// Every file under a folder of shared/, sorted.
  public static func files(under relative: String, ext: String = "json") -> [URL] {
    let base = url(relative)
    guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
    return e.compactMap { $0 as? URL }.filter { $0.pathExtension == ext }.sorted { $0.path < $1.path }
  }
}
