"""Real local servers that fail the way networks fail, for the network-diagnosis tests.

Usage: python netfaults.py MODE [ARGS] -> prints the port, then serves on 127.0.0.1 until
killed. Modes:
  hang                   accept connections and never answer
  status CODE [CERT KEY] answer every request with HTTP CODE (HTTPS when given a certificate)
  index ROOT [CERT KEY [USER:PASSWORD [DELAY]]]
                         serve the folder ROOT (a PEP 503 simple index), HTTPS with a cert;
                         with USER:PASSWORD only to Basic auth with them (else 401), each
                         answer after DELAY seconds
  proxy407               an HTTP proxy that answers everything, CONNECT too, with 407
  intercept CERT KEY UPSTREAM_PORT
                         a TLS-intercepting proxy: CONNECT to any host is answered 200,
                         TLS is terminated with CERT (signed by a CA the client must trust)
                         and the decrypted bytes go to 127.0.0.1:UPSTREAM_PORT (plain HTTP)
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import socket
import socketserver
import ssl
import sys
import threading
import time


def _tls(server: socketserver.TCPServer, cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    credentials: str | None = None
    delay = 0.0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.delay)
        expected = "Basic " + base64.b64encode((self.credentials or "").encode()).decode()
        if self.credentials and self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


def _status_handler(code: int) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(code)
            if code == 407:
                self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
            if code == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

        do_GET = do_HEAD = do_CONNECT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass
    return Handler


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _intercept_handler(cert: str, key: str, upstream: int):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            try:
                client = context.wrap_socket(self.connection, server_side=True)
            except (OSError, ssl.SSLError):
                return
            backend = socket.create_connection(("127.0.0.1", upstream))
            t = threading.Thread(target=_pipe, args=(backend, client), daemon=True)
            t.start()
            _pipe(client, backend)
            t.join(timeout=30)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass
    return Handler


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _hang() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    held = []
    while True:
        conn, _ = sock.accept()
        held.append(conn)  # never read from, never answered, never closed
        time.sleep(0)


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode == "hang":
        _hang()
        return
    if mode == "status":
        server = _Server(("127.0.0.1", 0), _status_handler(int(args[0])))
        if len(args) == 3:
            _tls(server, args[1], args[2])
    elif mode == "index":
        handler = type("Index", (_Quiet,), {
            "credentials": args[3] if len(args) > 3 else None,
            "delay": float(args[4]) if len(args) > 4 else 0.0})
        server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=args[0]))
        if len(args) >= 3:
            _tls(server, args[1], args[2])
    elif mode == "proxy407":
        server = _Server(("127.0.0.1", 0), _status_handler(407))
    elif mode == "intercept":
        server = _Server(("127.0.0.1", 0), _intercept_handler(args[0], args[1], int(args[2])))
    else:
        sys.exit(f"unknown mode {mode}")
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
