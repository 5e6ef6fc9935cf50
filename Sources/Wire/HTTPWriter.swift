/// Serialises messages.
public enum HTTPWriter {
  public static func request(_ h: HTTPRequestHead, body: [UInt8] = []) -> [UInt8] {
    var s = "\(h.method) \(h.target) \(h.version)\r\n"
    let hasLength = appendFields(h.headers, to: &s)
    if !hasLength && (!body.isEmpty || ["POST", "PUT", "PATCH", "DELETE"].contains(h.method)) {
      s += "Content-Length: \(body.count)\r\n"
    }
    s += "\r\n"
    return Array(s.utf8) + body
  }

  public static func response(_ h: HTTPResponseHead, body: [UInt8] = []) -> [UInt8] {
    var s = "\(h.version) \(h.status) \(h.reason.isEmpty ? reason(h.status) : h.reason)\r\n"
    if !appendFields(h.headers, to: &s) { s += "Content-Length: \(body.count)\r\n" }
    s += "\r\n"
    return Array(s.utf8) + body
  }

  /// Writes the header fields; returns whether they already frame the body.
  static func appendFields(_ headers: HTTPHeaders, to s: inout String) -> Bool {
    var framed = false
    for f in headers {
      s += "\(f.name): \(f.value)\r\n"
      let n = f.name.lowercased()
      if n == "content-length" || n == "transfer-encoding" { framed = true }
    }
    return framed
  }

  public static func reason(_ status: Int) -> String {
    switch status {
    case 101: "Switching Protocols"
    case 200: "OK"
    case 204: "No Content"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 413: "Content Too Large"
    case 418: "I'm a teapot"
    case 426: "Upgrade Required"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 505: "HTTP Version Not Supported"
    default: "Status \(status)"
    }
  }
}
