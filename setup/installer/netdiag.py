"""Name the cause of a failed download, from uv's, pip's or urllib's error text.

One table, read top to bottom: DNS, refused, timed out, TLS (unknown issuer, expired, wrong
name, not TLS at all), proxy 407, index 401/403, 404. Each cause names the host and has its
own fix. "No network" is said only when nothing answered at all (no route, network
unreachable). Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Diagnosis", "diagnose", "host_of", "mask_url", "mask_urls", "proxied"]

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\")<>]+", re.IGNORECASE)
_CA_FIX = ("add your organisation's CA to the system store (Debian/Ubuntu: sudo cp CA.crt "
           "/usr/local/share/ca-certificates/ && sudo update-ca-certificates), or set "
           "SSL_CERT_FILE to it (PEM)")


def mask_url(url: str) -> str:
    """``url`` with its whole userinfo (user and password) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{tail}"


def mask_urls(text: str) -> str:
    """Every URL in ``text`` masked (for logs and screens)."""
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


def host_of(url: str | None) -> str | None:
    """host[:port] of ``url``, without credentials."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        return f"{host}:{parts.port}" if host and parts.port else host
    except ValueError:
        return None


@dataclass(frozen=True)
class Diagnosis:
    """A cause with its fix; ``kind`` is stable (tests and reports key on it)."""

    kind: str
    cause: str
    fix: str


# (kind, pattern, cause template, fix). {host} is the host the request went to, {proxy}
# the proxy in effect, {timeout} the timeout in seconds.
_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("proxy-auth", r"proxy authori[sz]ation required|\b407\b",
     "the proxy {proxy} asks for credentials (HTTP 407)",
     "put them in the proxy URL: HTTPS_PROXY=http://USER:PASSWORD@proxy:port, or ask IT"),
    ("dns", r"dns error|failed to lookup address|Name or service not known|"
            r"Temporary failure in name resolution|nodename nor servname|getaddrinfo failed|"
            r"No address associated with hostname",
     "the name {host} does not resolve (DNS)",
     "check the host name in the URL; behind a proxy set HTTPS_PROXY=http://proxy:port"),
    ("refused", r"Connection refused|actively refused|os error 111|Errno 111",
     "{host} refused the connection",
     "check the URL's host and port (is the server running?); behind a proxy set "
     "HTTPS_PROXY"),
    ("timeout", r"timed out|operation timed out|Timeout was reached|os error 110",
     "{host} did not answer within {timeout:g}s (timed out)",
     "check the URL and HTTPS_PROXY; on a slow network raise KERASUP_NET_TIMEOUT "
     "(seconds, at most 60)"),
    ("tls-issuer", r"UnknownIssuer|unable to get local issuer|self.signed certificate|"
                   r"unable to get issuer certificate|CERTIFICATE_VERIFY_FAILED.*issuer",
     "TLS: the certificate {host} presented is signed by a CA this machine does not trust "
     "(unknown issuer; a TLS-inspecting proxy or a private mirror)", _CA_FIX),
    ("tls-expired", r"\bExpired\b|certificate has expired|certificate is not yet valid|"
                    r"NotValidYet",
     "TLS: the certificate of {host} has expired (or is not valid yet)",
     "check this machine's clock (date); otherwise the server's owner must renew it"),
    ("tls-name", r"not valid for name|NotValidForName|Hostname mismatch|doesn't match|"
                 r"does not match",
     "TLS: the certificate of {host} is for another name",
     "use the host name the certificate names in the URL, or ask the server's owner"),
    ("tls-other", r"corrupt message|InvalidContentType|wrong version number|"
                  r"SSLError|invalid peer certificate|TLS handshake",
     "TLS with {host} failed (it may not speak TLS: an http:// server on an https:// URL)",
     "check the URL's scheme and port; see the log for the TLS error"),
    ("auth", r"\b40[13]\b|Unauthorized|Forbidden|lack of valid authentication",
     "the index {host} refused access (HTTP 401/403: credentials missing or wrong)",
     "put them in the URL: --index-url https://USER:TOKEN@host/simple (kept out of the "
     "process list), or in ~/.netrc"),
    ("not-found", r"\b404\b|Not Found|was not found in the package registry",
     "the index {host} has no such page (HTTP 404)",
     "check that --index-url names a PEP 503 simple index (it usually ends in /simple)"),
    ("no-network", r"Network is unreachable|No route to host|os error 101|os error 113|"
                   r"Network connectivity is disabled",
     "no network: nothing answered at {host}",
     "connect to a network (behind a proxy set HTTPS_PROXY), or install offline with "
     "--from-bundle DIR"),
)


def proxied(host: str | None, proxy: str | None, no_proxy: str | None) -> bool:
    """Whether a request to ``host`` goes through ``proxy`` (NO_PROXY's suffix rule)."""
    if not proxy:
        return False
    name = (host or "").rsplit(":", 1)[0].lower()
    skip = [h.strip().lstrip(".").lower() for h in (no_proxy or "").split(",") if h.strip()]
    return not ("*" in skip or any(name == h or name.endswith("." + h) for h in skip))


# Failures to connect concern the proxy, not the index, when the request goes through one.
_CONNECT_KINDS = ("dns", "refused", "timeout")


def diagnose(text: str, *, url: str | None = None, proxy: str | None = None,
             no_proxy: str | None = None, timeout: float = 20.0) -> Diagnosis | None:
    """The first rule whose pattern ``text`` matches, or None (not a network failure)."""
    found = _URL.findall(text)
    host = host_of(url) or host_of(found[0] if found else None) or "the index"
    for kind, pattern, cause, fix in _RULES:
        if not re.search(pattern, text, re.IGNORECASE):
            continue
        if kind in _CONNECT_KINDS and proxied(host, proxy, no_proxy):
            return Diagnosis(f"proxy-{kind}", "the proxy " + cause.format(
                host=host_of(proxy), timeout=timeout), "check HTTPS_PROXY (host:port) and "
                "NO_PROXY, or ask IT for the proxy's address")
        return Diagnosis(kind, cause.format(host=host, proxy=host_of(proxy) or "in use",
                                            timeout=timeout), fix)
    return None
