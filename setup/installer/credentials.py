"""Index credentials stay out of every process list.

A URL such as ``--index-url https://USER:TOKEN@host/simple`` is in setup's own argv, which
every account reads (``ps -eo args``) for the whole install. So setup, when started with
one, starts itself again at once with the URL moved into its environment
(``KERASUP_INDEX_URL``; a process's environment is readable by its own account only) and
``--index-url`` dropped from the arguments. uv and pip get the URL through their own
variables (``UV_DEFAULT_INDEX``, ``PIP_INDEX_URL``), never through argv; every message and
log masks the whole userinfo. ubuntu.sh does the same before anything else runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from envs.contract.errors import UsageError
from setup.installer.netdiag import mask_url

__all__ = ["ENV_VAR", "has_userinfo", "hide_from_argv", "index_url", "plain_http_warning"]

ENV_VAR = "KERASUP_INDEX_URL"


def has_userinfo(url: str | None) -> bool:
    """True when ``url`` carries a user or password."""
    if not url:
        return False
    try:
        return "@" in (urlsplit(url).netloc or "")
    except ValueError:
        return False


def _split(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """argv without ``--index-url URL`` / ``--index-url=URL`` (the last one), and the URL."""
    rest: list[str] = []
    url = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--index-url" and i + 1 < len(argv):
            url, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--index-url="):
            url = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return rest, url


def hide_from_argv(environ: Mapping[str, str]) -> None:
    """When this process's arguments hold an index URL with credentials, exec it again (same
    interpreter options, same script or ``-m`` module) with the URL in the environment
    instead. Returns only when there is nothing to hide, or on Windows, where another
    account cannot read a process's command line without being an administrator."""
    argv = sys.argv[1:]
    rest, url = _split(argv)
    if not has_userinfo(url) or os.name == "nt":
        return
    head = sys.orig_argv[:len(sys.orig_argv) - len(argv)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [*head, *rest], {**environ, ENV_VAR: url or ""})


def index_url(flag: str | None, environ: Mapping[str, str]) -> str | None:
    """``--index-url``, else KERASUP_INDEX_URL (where a URL with credentials travels)."""
    url = flag or environ.get(ENV_VAR, "").strip() or None
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"the index URL {mask_url(url)} is not http(s)",
                         fix="give an https://host/simple URL")
    return url


def plain_http_warning(url: str | None) -> str | None:
    """One line when credentials would cross the network unencrypted."""
    if has_userinfo(url) and urlsplit(url or "").scheme == "http":
        return (f"warning: the index URL {mask_url(url or '')} sends its credentials over "
                "plain http, readable by anyone on the network path: use https://")
    return None
