"""A real package index for the tests: pypiserver's WSGI app served over HTTPS on
127.0.0.1 by the standard library's threading WSGI server.

Usage: python tls_index.py PACKAGES_DIR CERT KEY  -> prints the port, then serves.
"""

from __future__ import annotations

import socketserver
import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pypiserver


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main() -> None:
    packages, cert, key = sys.argv[1:4]
    app = pypiserver.app(roots=[packages], authenticate=[], password_file=".")
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer,
                         handler_class=_Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
