#!/usr/bin/env python3
"""An HTTPS server nobody on this project wrote (Python's http.server in an ssl context), for the
HTTP client's interop tests. Loopback only; exits after 60 s.

  https_peer.py CERT KEY        prints "READY <port>"
Endpoints: GET /api/v3/time (JSON + Binance-style weight header), POST /echo (echoes the body),
GET /chunked (a chunked body), GET /slow (answers after 3 s), anything else 404.
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/api/v3/time"):
            body = json.dumps({"serverTime": int(time.time() * 1000)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-mbx-used-weight-1m", "7")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"first,", b"second,", b"third"]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            time.sleep(3)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"late")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Echo-Length", str(n))
        self.end_headers()
        self.wfile.write(body)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"READY {srv.server_address[1]}", flush=True)
    threading.Timer(60, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
