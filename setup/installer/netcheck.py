"""The package index, proxy and CA certificates in effect, and whether the index answers.

Used by ``--check`` (preflight, no changes), by the bundle builder and by the uv backend:
one place decides which index URL wins (``--index-url``, then uv's, then pip's variables),
which proxy urllib and uv will use, and which CA bundle verifies TLS. A failed probe is one
line that names the remedy. Standard library only, Python 3.10+.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from envs.contract.facts import DEFAULT_PYTHON
from setup.installer.deadline import Stalled, bounded
from setup.installer.failures import error_part
from setup.installer.netdiag import diagnose, mask_url, mask_urls
from setup.installer.trust import ORIGINAL_CA_VAR, system_bundle

__all__ = [
    "DEFAULT_INDEX",
    "IndexProbe",
    "NetSettings",
    "authorized",
    "index_args",
    "masked",
    "net_settings",
    "probe_index",
    "probe_with_uv",
    "ssl_context",
    "ssl_env",
]

DEFAULT_INDEX = "https://pypi.org/simple"
# First set wins: the installer's flag, then uv's own variables, then pip's.
_INDEX_VARS = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")
_PROBE_PROJECT = "uv"  # every install fetches uv first, so a mirror must serve it


def masked(url: str | None) -> str | None:
    """``url`` with its whole userinfo hidden (for messages and reports)."""
    return mask_url(url) if url else url


@dataclass(frozen=True)
class NetSettings:
    """What a download will use: index URL (and where it came from), proxy, CA bundle."""

    index_url: str
    index_source: str  # "--index-url", "UV_DEFAULT_INDEX", ... or "default"
    proxy: str | None
    no_proxy: str | None
    ca_file: str | None  # SSL_CERT_FILE, when set (the user's own, see trust.py)
    native_tls: bool  # kept for the plan's JSON: always True, the system store is trusted

    def describe(self) -> str:
        ca = "system trust store" + (f" + SSL_CERT_FILE {self.ca_file}" if self.ca_file else "")
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
    ca = environ.get(ORIGINAL_CA_VAR) or environ.get("SSL_CERT_FILE") or None
    return NetSettings((url or DEFAULT_INDEX).rstrip("/"), source or "default", proxy, no_proxy,
                       ca, True)


def index_args(index_url: str | None) -> list[str]:
    """uv arguments that make ``index_url`` the only index (none: uv's own settings apply).

    ``--default-index`` replaces PyPI rather than adding an index, so with ``--require-hashes``
    a mirror can never substitute a file the lock does not name.
    """
    return ["--default-index", index_url.rstrip("/")] if index_url else []


def ssl_env(environ: Mapping[str, str], system_store: bool = True) -> dict[str, str]:
    """Variables for uv so it verifies TLS as pip does (see :mod:`trust`): the system
    store, and ``SSL_CERT_FILE`` when set (uv then reads that file alone)."""
    if environ.get("SSL_CERT_FILE") or not system_store:
        return {}
    return {"UV_SYSTEM_CERTS": "1"}


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying context that trusts the system store plus ``SSL_CERT_FILE`` when set
    (the bundle child_tls_env made already holds both).

    One context per set of trusted files (path, size, mtime) and OpenSSL defaults, shared by
    every call: loading the system store takes tens of milliseconds, and the bundle builder
    opens two connections per wheel. Callers must not change it."""
    defaults = ssl.get_default_verify_paths()  # OpenSSL's, from this process's variables
    files = tuple(filter(None, (_file_key(system_bundle()),
                                _file_key(environ.get("SSL_CERT_FILE") or None))))
    return _context((defaults.cafile, defaults.capath), files)


def _file_key(path: str | os.PathLike[str] | None) -> tuple[str, int, int] | None:
    """(path, size, mtime) of a CA file, so a rewritten file makes a new context."""
    if not path:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _context(defaults: tuple[str | None, str | None],
             files: tuple[tuple[str, int, int], ...]) -> ssl.SSLContext:
    """The context ssl_context describes (``defaults`` only keys the cache)."""
    del defaults
    context = ssl.create_default_context()
    for path, _, _ in files:
        with contextlib.suppress(OSError, ssl.SSLError):
            context.load_verify_locations(cafile=path)
    return context


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


def authorized(url: str, headers: Mapping[str, str] | None = None) -> urllib.request.Request:
    """A request for ``url`` whose userinfo (``https://USER:TOKEN@host/...``, as uv and pip
    take it) becomes a Basic Authorization header: urllib would take it for a host name."""
    parts = urllib.parse.urlsplit(url)
    head = dict(headers or {})
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        head["Authorization"] = f"Basic {token}"
        netloc = parts.netloc.rsplit("@", 1)[1]
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return urllib.request.Request(url, headers=head)


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
    via: str = "python"  # "uv": asked through uv itself, as the install will

    def one_line(self) -> str:
        if self.ok:
            how = ("through uv, as the install will" if self.via == "uv" else
                   "with Python's TLS (uv is not installed yet), same CA, proxy and "
                   "credentials")
            return f"index reachable ({how}): {self.settings.describe()}"
        return f"{self.problem} (fix: {self.fix})"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP Error {exc.code}: {exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return f"{type(reason).__name__}: {reason}"


def _classify(text: str, url: str, settings: NetSettings, timeout: float) -> tuple[str, str]:
    found = diagnose(text, url=url, proxy=settings.proxy, no_proxy=settings.no_proxy,
                     timeout=timeout)
    if found is None:
        return (f"the index {masked(settings.index_url)} could not be read ({mask_urls(text)})",
                "check --index-url and HTTPS_PROXY")
    return found.cause, found.fix


def probe_index(environ: Mapping[str, str] | None = None, index_url: str | None = None,
                timeout: float = 10.0, project: str = _PROBE_PROJECT) -> IndexProbe:
    """One real HTTPS GET of the index page of ``project``; never raises for network causes."""
    env = os.environ if environ is None else environ
    settings = net_settings(env, index_url)
    url = f"{settings.index_url}/{project}/"
    request = authorized(url, {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    try:
        with opener(env).open(request, timeout=timeout) as response:
            response.read(1024)
    except (urllib.error.URLError, OSError, ssl.SSLError, ValueError) as exc:
        problem, fix = _classify(_error_text(exc), url, settings, timeout)
        return IndexProbe(False, masked(url) or url, settings, problem, fix)
    return IndexProbe(True, masked(url) or url, settings)


def probe_with_uv(uv: str, environ: Mapping[str, str] | None = None,
                  index_url: str | None = None, timeout: float = 20.0,
                  project: str = _PROBE_PROJECT, grace: float = 30.0) -> IndexProbe:
    """The same question asked of uv itself, with the environment the install will give it
    (TLS trust, proxy, credentials, timeout): resolve ``project`` from the index, no cache,
    no retry. What uv says is diagnosed as an install failure would be."""
    env = dict(os.environ if environ is None else environ)
    settings = net_settings(env, index_url)
    env.update({"UV_DEFAULT_INDEX": settings.index_url, "UV_HTTP_RETRIES": "0",
                "UV_HTTP_TIMEOUT": f"{timeout:g}", "UV_NO_CACHE": "1", "UV_NO_CONFIG": "1"})
    env.pop("UV_INDEX_URL", None)
    url = f"{settings.index_url}/{project}/"
    cmd = [uv, "pip", "compile", "-", "--no-deps", "--quiet", "--no-header",
           "--python-version", DEFAULT_PYTHON]
    deadline = timeout * 2 + grace  # uv gives up on the network after `timeout`: this is uv
    try:
        done = bounded(cmd, input=f"{project}\n", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=deadline,
                       errors="replace")
    except subprocess.TimeoutExpired:
        stalled = Stalled(cmd, seconds=deadline, step="--check's index probe", environ=env,
                          idle=False, program="uv")
        return IndexProbe(False, masked(url) or url, settings, stalled.message, stalled.fix,
                          via="uv")
    except OSError:
        return probe_index(environ, index_url, timeout, project)  # uv cannot run: Python's
    if done.returncode == 0:
        return IndexProbe(True, masked(url) or url, settings, via="uv")
    problem, fix = _classify(error_part(done.stderr + done.stdout), url, settings, timeout)
    return IndexProbe(False, masked(url) or url, settings, problem, fix, via="uv")
