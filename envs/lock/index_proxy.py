"""A local TLS-intercepting proxy that records a package index's answers, or replays them.

uv reaches the index through it exactly as it reaches one through a corporate proxy:
``HTTPS_PROXY`` names the proxy and ``SSL_CERT_FILE`` its throw-away CA (made with trustme for
this run only). uv asks for the same ``https://pypi.org/simple/...`` URLs either way, so the
locks it writes name the real index and its real file URLs, byte for byte: nothing is
rewritten afterwards.

* replay: answers from an :class:`~envs.lock.index_snapshot.IndexSnapshot`; anything the
  snapshot lacks is answered 404 and listed in :attr:`IndexProxy.misses`.
* record: asks the live index (through the machine's own proxy settings and trust store),
  passes the answer on and keeps it in the snapshot.
* record with ``fill``: replays what the snapshot holds and asks the live index only for
  what it lacks (a project newly added to environment.yml), keeping that: the projects
  already recorded cannot drift.

It listens on 127.0.0.1 only. In a fresh network namespace (``unshare -n``) loopback starts
down; :func:`loopback_up` brings it up, which needs no network at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import socket
import ssl
import struct
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from envs.contract.errors import LockError
from envs.lock.index_snapshot import IndexSnapshot, Response

__all__ = ["IndexProxy", "loopback_up", "serving"]

_UPSTREAM_TIMEOUT = 60.0
_FORWARDED = ("Accept", "User-Agent")  # never Range: a recorded wheel is read whole
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring the loopback interface up if it is down (a new network namespace); no-op when up
    or when this process may not change it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        try:
            flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
            if not flags & _IFF_UP:
                fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))
        except OSError:
            pass


@dataclass
class IndexProxy:
    """What one proxy run served: the snapshot, the mode and the requests it could not meet."""

    snapshot: IndexSnapshot
    recording: bool = False
    fill: bool = False  # with recording: ask the live index only for what the snapshot lacks
    misses: list[str] = field(default_factory=list)
    upstream_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, host: str, path: str, headers: dict[str, str],
               method: str = "GET") -> Response:
        """The answer to GET (or HEAD) https://host/path."""
        if not self.recording or self.fill:
            with self.lock:
                found = self.snapshot.answer(host, path)
            if found is not None:
                return found
            if not self.recording:
                with self.lock:
                    self.misses.append(f"https://{host}{path}")
                return Response(404, "text/plain", b"not in the index snapshot\n")
        # A wheel without core metadata: uv reads its METADATA from the wheel itself. It gets
        # the whole file (no Range), so the recording can keep the METADATA it holds.
        live = self._fetch(host, path, headers, method)
        if method == "HEAD":
            return live
        with self.lock:
            self.snapshot.record(host, path, live)
            # uv is served what a replay will serve (withheld releases left out), so the
            # recording holds everything the resolution it drives needs.
            kept = self.snapshot.answer(host, path)
        return kept or live

    def _fetch(self, host: str, path: str, headers: dict[str, str],
               method: str = "GET") -> Response:
        request = urllib.request.Request(
            f"https://{host}{path}", method=method,
            headers={k: v for k, v in headers.items() if k in _FORWARDED})
        try:
            with urllib.request.urlopen(request, timeout=_UPSTREAM_TIMEOUT) as reply:
                body = reply.read()
                length = int(reply.headers.get("Content-Length") or len(body))
                return Response(reply.status, reply.headers.get("Content-Type", ""), body,
                                length)
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.headers.get("Content-Type", "text/plain"),
                            exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            with self.lock:
                self.upstream_errors.append(f"{host}: {reason}")
            return Response(502, "text/plain", f"upstream {host}: {reason}\n".encode())


class _Handler(http.server.BaseHTTPRequestHandler):
    """CONNECT opens a TLS tunnel served by :class:`_TunnelHandler`; plain GETs of absolute
    http:// URLs are answered directly."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_CONNECT(self) -> None:
        host = self.path.rsplit(":", 1)[0]
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            tls = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        with contextlib.suppress(OSError, ssl.SSLError):
            _TunnelHandler(tls, self.client_address, self.server, host)
        self.close_connection = True

    def _target(self) -> tuple[str, str]:
        host, _, path = self.path.removeprefix("http://").partition("/")
        return host, "/" + path

    def _reply(self, method: str) -> None:
        host, path = self._target()
        answer = self.server.proxy.answer(host, path, dict(self.headers), method)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(answer.length))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(answer.body)

    def do_GET(self) -> None:
        self._reply("GET")

    def do_HEAD(self) -> None:
        self._reply("HEAD")


class _TunnelHandler(_Handler):
    """Requests inside a CONNECT tunnel: the host is the tunnel's, the path is origin-form."""

    def __init__(self, request: socket.socket, client: tuple[str, int], server: _Server,
                 host: str) -> None:
        self.tunnel_host = host
        super().__init__(request, client, server)

    def _target(self) -> tuple[str, str]:
        return self.tunnel_host, self.path


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: IndexProxy, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy, self.tls = proxy, tls


def _tls_context(ca: object) -> ssl.SSLContext:
    """A server context that presents, for whichever host uv names, a certificate of `ca`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["http/1.1"])
    issued: dict[str, ssl.SSLContext] = {}
    guard = threading.Lock()

    def for_host(sock: ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
        host = name or "localhost"
        with guard:
            if host not in issued:
                leaf = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                leaf.set_alpn_protocols(["http/1.1"])
                ca.issue_cert(host).configure_cert(leaf)  # type: ignore[attr-defined]
                issued[host] = leaf
            sock.context = issued[host]

    context.sni_callback = for_host
    ca.issue_cert("localhost").configure_cert(context)  # type: ignore[attr-defined]
    return context


@contextlib.contextmanager
def serving(proxy: IndexProxy) -> Iterator[dict[str, str]]:
    """Run `proxy` on 127.0.0.1 for the block; yields the environment that sends uv through
    it (proxy variables and the CA file), to be laid over a clean environment."""
    try:
        import trustme
    except ImportError:
        raise LockError("trustme is not installed, and the index proxy needs it for its "
                        "throw-away CA", fix="run it through nox (nox -s lock), which "
                        "installs the lock group") from None
    loopback_up()
    ca = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="kerasup-index-proxy-") as tmp:
        ca_file = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server = _Server(proxy, _tls_context(ca))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield {"HTTPS_PROXY": url, "HTTP_PROXY": url, "SSL_CERT_FILE": str(ca_file)}
        finally:
            server.shutdown()
            server.server_close()
