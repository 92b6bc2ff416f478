"""Which certificates every download trusts: the operating system's store, like pip, plus
``SSL_CERT_FILE`` when it is set. Standard library only.

uv 0.13 trusts only its bundled Mozilla roots unless told otherwise, so a CA that a company
or university put in the OS store (``/usr/local/share/ca-certificates`` on Debian/Ubuntu)
is unknown to it. :func:`child_tls_env` gives every child the same trust:

- no ``SSL_CERT_FILE``: ``UV_SYSTEM_CERTS=1`` (uv asks the OS verifier), and pip gets the
  system bundle file as ``PIP_CERT`` (an old pip, such as Debian 12's 23.0, reads only
  certifi's bundle otherwise);
- ``SSL_CERT_FILE`` set: uv and OpenSSL read that file *instead of* the store, so the file a
  child gets is the system bundle followed by the user's file (a copy under kerasup's cache
  directory: certificates are public, nothing secret is written).

The network timeout (``KERASUP_NET_TIMEOUT``, default 20 s, at most 60) becomes uv's
``UV_HTTP_TIMEOUT`` with one retry, so an index that accepts and never answers fails in
well under two minutes, with its cause named.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from envs.contract.fileio import is_regular_file, write_atomic
from envs.contract.flags import env_number

__all__ = ["DEFAULT_TIMEOUT", "MAX_TIMEOUT", "child_tls_env", "net_timeout", "system_bundle"]

DEFAULT_TIMEOUT = 20.0
MAX_TIMEOUT = 60.0
# The system bundle file per OS family (what OpenSSL's and pip's distro builds read).
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
                   "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
                   "/etc/ssl/ca-bundle.pem",  # openSUSE
                   "/etc/ssl/cert.pem")  # macOS, BSD
ORIGINAL_CA_VAR = "KERASUP_USER_SSL_CERT_FILE"  # the user's SSL_CERT_FILE, for messages


def net_timeout(environ: Mapping[str, str]) -> float:
    """Seconds a download may wait for an answer (KERASUP_NET_TIMEOUT, capped at 60)."""
    return min(env_number(environ, "KERASUP_NET_TIMEOUT", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT,
               MAX_TIMEOUT)


def system_bundle(candidates: tuple[str, ...] = _SYSTEM_BUNDLES) -> Path | None:
    """The OS's CA bundle file, where the OS keeps one (Windows: None, its store is an API)."""
    if os.name == "nt":
        return None
    return next((Path(p) for p in candidates if Path(p).is_file()), None)


def _combined(system: Path, user: Path, cache: Path) -> Path:
    """``system`` then ``user`` in one PEM file under ``cache`` (written once per content)."""
    data = system.read_bytes().rstrip(b"\n") + b"\n" + user.read_bytes()
    out = cache / f"ca-bundle-{hashlib.sha256(data).hexdigest()[:16]}.pem"
    if not is_regular_file(out):  # a link planted at that name is refused, never trusted
        cache.mkdir(parents=True, exist_ok=True)
        write_atomic(out, data, mode=0o644)
    return out


def child_tls_env(environ: Mapping[str, str], cache: Path,
                  system: Path | bool | None = True) -> dict[str, str]:
    """Variables to add to every child's environment (see the module docstring).
    ``system``: the system bundle (True: look for it)."""
    bundle = system_bundle() if system is True else (system or None)
    timeout = net_timeout(environ)
    env = {"UV_HTTP_TIMEOUT": environ.get("UV_HTTP_TIMEOUT") or f"{timeout:g}",
           "UV_HTTP_RETRIES": environ.get("UV_HTTP_RETRIES") or "1"}
    user = environ.get("SSL_CERT_FILE", "").strip()
    if not user:
        env["UV_SYSTEM_CERTS"] = "1"
        if bundle is not None and not environ.get("PIP_CERT"):
            env["PIP_CERT"] = str(bundle)
        return env
    env[ORIGINAL_CA_VAR] = environ.get(ORIGINAL_CA_VAR) or user
    path = Path(user)
    if bundle is None or not path.is_file() or path.resolve() == bundle.resolve():
        return env  # the system bundle itself, or a file uv will report as unreadable
    try:
        merged = _combined(bundle, path, cache)
    except OSError:
        return env  # an unreadable file or a full cache: uv names the file it cannot use
    env["SSL_CERT_FILE"] = str(merged)
    if not environ.get("PIP_CERT"):
        env["PIP_CERT"] = str(merged)
    return env
