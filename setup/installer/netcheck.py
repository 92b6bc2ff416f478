"""The package index, proxy and CA certificates in effect, and whether the index answers.

Used by ``--check`` (preflight, no changes), by the bundle builder and by the uv backend:
one place decides which index URL wins (``--index-url``, then uv's, then pip's variables),
which proxy urllib and uv will use, and which CA bundle verifies TLS. A failed probe is one
line that names the remedy. Standard library only, Python 3.10+.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_INDEX",
    "IndexProbe",
    "NetSettings",
    "index_args",
    "masked",
    "net_settings",
    "probe_index",
    "ssl_context",
    "ssl_env",
]

DEFAULT_INDEX = "https://pypi.org/simple"
# First set wins: the installer's flag, then uv's own variables, then pip's.
_INDEX_VARS = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
_PROBE_PROJECT = "uv"  # every install fetches uv first, so a mirror must serve it


def masked(url: str | None) -> str | None:
    """``url`` with any user:password hidden (for messages and reports)."""
    return re.sub(r"//[^@/]+@", "//***@", url) if url else url


@dataclass(frozen=True)
class NetSettings:
    """What a download will use: index URL (and where it came from), proxy, CA bundle."""

    index_url: str
    index_source: str  # "--index-url", "UV_DEFAULT_INDEX", ... or "default"
    proxy: str | None
    no_proxy: str | None
    ca_file: str | None  # SSL_CERT_FILE, when set
    native_tls: bool  # UV_NATIVE_TLS: uv uses the OS trust store

    def describe(self) -> str:
        ca = self.ca_file or ("system trust store (UV_NATIVE_TLS)" if self.native_tls
                              else "default certificates")
        return (f"index {masked(self.index_url)} (from {self.index_source}); proxy "
                f"{masked(self.proxy) or 'none'}; CA {ca}")


def _first(environ: Mapping[str, str], *names: str) -> tuple[str | None, str | None]:
    for name in names:
        for key in (name, name.lower()):
            value = environ.get(key, "").strip()
            if value:
                return value, name
    return None, None


def net_settings(environ: Mapping[str, str], index_url: str | None = None) -> NetSettings:
    """The settings in effect for ``environ`` and an optional ``--index-url``."""
    if index_url:
        url, source = index_url, "--index-url"
    else:
        url, source = _first(environ, *_INDEX_VARS)
    proxy, _ = _first(environ, "HTTPS_PROXY", "ALL_PROXY")
    no_proxy, _ = _first(environ, "NO_PROXY")
    native = environ.get("UV_NATIVE_TLS", "").strip().lower() in ("1", "true", "yes", "on")
    return NetSettings((url or DEFAULT_INDEX).rstrip("/"), source or "default", proxy, no_proxy,
                       environ.get("SSL_CERT_FILE") or None, native)


def index_args(index_url: str | None) -> list[str]:
    """uv arguments that make ``index_url`` the only index (none: uv's own settings apply).

    ``--default-index`` replaces PyPI rather than adding an index, so with ``--require-hashes``
    a mirror can never substitute a file the lock does not name.
    """
    return ["--default-index", index_url.rstrip("/")] if index_url else []


def ssl_env(environ: Mapping[str, str], system_store: bool = False) -> dict[str, str]:
    """Variables to add to uv's environment so it verifies TLS as the user expects.

    uv reads ``SSL_CERT_FILE`` itself; without one, ``system_store`` (or an OS where the
    organisation's CA is normally in the OS store) asks for the platform's trust store.
    """
    if environ.get("SSL_CERT_FILE"):
        return {}
    if system_store or environ.get("UV_NATIVE_TLS"):
        return {"UV_NATIVE_TLS": "1"}
    return {}


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying context that trusts ``SSL_CERT_FILE`` when set, else the defaults."""
    cafile = environ.get("SSL_CERT_FILE") or None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError):
        return ssl.create_default_context()


def opener(environ: Mapping[str, str]) -> urllib.request.OpenerDirector:
    """urllib opener with the proxy of ``environ`` (not os.environ) and its CA bundle."""
    proxies = {}
    proxy, _ = _first(environ, "HTTPS_PROXY", "ALL_PROXY")
    no_proxy, _ = _first(environ, "NO_PROXY")
    if proxy:
        proxies["https"] = proxy
    http_proxy, _ = _first(environ, "HTTP_PROXY", "ALL_PROXY")
    if http_proxy:
        proxies["http"] = http_proxy
    handlers: list[urllib.request.BaseHandler] = [
        _NoProxyHandler(proxies, no_proxy or ""),
        urllib.request.HTTPSHandler(context=ssl_context(environ)),
    ]
    return urllib.request.build_opener(*handlers)


class _NoProxyHandler(urllib.request.ProxyHandler):
    """ProxyHandler that honours a NO_PROXY taken from the given environment."""

    def __init__(self, proxies: dict[str, str], no_proxy: str) -> None:
        super().__init__(proxies)
        self.no_proxy = [h.strip().lstrip(".").lower() for h in no_proxy.split(",") if h.strip()]

    def proxy_open(self, req: urllib.request.Request, proxy: str, type: str):
        host = (req.host or "").rsplit(":", 1)[0].lower()
        if "*" in self.no_proxy or any(host == h or host.endswith("." + h)
                                        for h in self.no_proxy):
            return None
        return super().proxy_open(req, proxy, type)


@dataclass(frozen=True)
class IndexProbe:
    """The outcome of one HTTPS request to the index: ok, or a one-line problem + remedy."""

    ok: bool
    url: str
    settings: NetSettings
    problem: str | None = None
    fix: str | None = None

    def one_line(self) -> str:
        if self.ok:
            return f"index reachable: {self.settings.describe()}"
        return f"{self.problem} (fix: {self.fix})"


def _classify(exc: BaseException, url: str, settings: NetSettings) -> tuple[str, str]:
    s = dataclasses.replace(settings, index_url=masked(settings.index_url) or "",
                            proxy=masked(settings.proxy))
    url = masked(url) or ""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 407:
            return (f"the proxy {s.proxy} refused the request (407 authentication required)",
                    "put the user and password in HTTPS_PROXY, or ask IT for the proxy address")
        if exc.code in (401, 403):
            return (f"the index {s.index_url} refused access (HTTP {exc.code})",
                    "use credentials in --index-url https://USER:TOKEN@host/simple, or another "
                    "mirror")
        return (f"the index {s.index_url} answered HTTP {exc.code} for {url}",
                "check that --index-url names a PEP 503 simple index (it usually ends in /simple)")
    if isinstance(reason, ssl.SSLError):
        detail = getattr(reason, "verify_message", None) or type(reason).__name__
        return (f"TLS verification failed for {s.index_url} ({detail}; CA in use: "
                f"{s.ca_file or 'default certificates'})",
                "set SSL_CERT_FILE to your organisation's CA bundle (PEM), or UV_NATIVE_TLS=1 to "
                "use the system trust store")
    text = str(reason)
    if s.proxy and ("Tunnel connection failed" in text or _refused(reason)):
        return (f"the proxy {s.proxy} refused the connection ({text})",
                "check HTTPS_PROXY (host:port, and user:password if needed) and NO_PROXY")
    return (f"the index {s.index_url} is unreachable ({text})",
            "pass --index-url URL of a mirror you can reach, or install offline with "
            "--from-bundle DIR")


def _refused(reason: object) -> bool:
    return isinstance(reason, (ConnectionRefusedError, socket.timeout, TimeoutError))


def probe_index(environ: Mapping[str, str] | None = None, index_url: str | None = None,
                timeout: float = 10.0, project: str = _PROBE_PROJECT) -> IndexProbe:
    """One real HTTPS GET of the index page of ``project``; never raises for network causes."""
    env = os.environ if environ is None else environ
    settings = net_settings(env, index_url)
    url = f"{settings.index_url}/{project}/"
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    try:
        with opener(env).open(request, timeout=timeout) as response:
            response.read(1024)
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        problem, fix = _classify(exc, url, settings)
        return IndexProbe(False, url, settings, problem, fix)
    return IndexProbe(True, url, settings)
