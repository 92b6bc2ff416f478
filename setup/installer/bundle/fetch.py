"""Download wheels into a verified cache: every byte is hashed while it streams, and a file
enters the cache (by atomic rename) only when its sha256 is the one the lock names.

A file is fetched from its pylock URL, or, with an index URL (a mirror), from the link that
the index's simple page gives for the same file name. Cached files are reused; a cached file
whose content no longer matches is fetched again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.fileio import file_sha256
from envs.contract.pylock import LockedWheel
from setup.installer.netcheck import authorized, net_settings, opener, probe_index
from setup.installer.netdiag import mask_url, mask_urls

__all__ = ["fetch_all", "fetch_wheel", "file_sha256", "index_file_url"]

_CHUNK = 1 << 20
_TRIES = 3


class _Links(HTMLParser):
    """The <a href> links of a PEP 503 simple page, by file name."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            name = urllib.parse.unquote(href.split("#", 1)[0].rsplit("/", 1)[-1])
            self.links[name] = href


def index_file_url(index_url: str, wheel: LockedWheel, environ: Mapping[str, str]) -> str:
    """Where the index serves ``wheel`` (PEP 691 JSON, else PEP 503 HTML)."""
    page = f"{index_url.rstrip('/')}/{wheel.name}/"
    request = authorized(page, {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with opener(environ).open(request, timeout=60) as response:
        body = response.read().decode("utf-8", "replace")
        final = response.geturl()
        kind = response.headers.get("Content-Type", "")
    if "json" in kind:
        links = {f["filename"]: f["url"] for f in json.loads(body).get("files", [])}
    else:
        parser = _Links()
        parser.feed(body)
        links = parser.links
    if wheel.filename not in links:
        raise CannotProceed(f"the index {mask_url(index_url)} does not serve {wheel.filename}",
                            "sync the mirror with PyPI, or build the bundle without --index-url")
    return with_userinfo(urllib.parse.urljoin(final, links[wheel.filename]), index_url)


def with_userinfo(url: str, index_url: str) -> str:
    """``url`` with the index's credentials when it is on the index's host (the files of a
    private index need them too); never sent to another host."""
    index = urllib.parse.urlsplit(index_url)
    parts = urllib.parse.urlsplit(url)
    if "@" not in index.netloc or parts.netloc != index.netloc.rsplit("@", 1)[1]:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=index.netloc))


def _download(url: str, wheel: LockedWheel, dest_dir: Path, environ: Mapping[str, str]) -> Path:
    """Stream ``url`` to a temp file in ``dest_dir``; return it once its sha256 matches."""
    fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, \
                opener(environ).open(authorized(url), timeout=120) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != wheel.sha256:
            raise UsageError(
                f"{wheel.filename} from {mask_url(url)} has sha256 {digest.hexdigest()}, the "
                f"lock says {wheel.sha256}",
                "the index or a proxy altered the file: use another mirror")
        return tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _network_error(exc: BaseException, index_url: str | None,
                   environ: Mapping[str, str]) -> CannotProceed:
    probe = probe_index(environ, index_url)
    if not probe.ok:
        return CannotProceed(probe.problem or "download failed", probe.fix)
    return CannotProceed(f"download failed: {mask_urls(str(exc))}",
                         "retry; the index answered the probe")


def fetch_wheel(wheel: LockedWheel, cache: Path, environ: Mapping[str, str] | None = None,
                index_url: str | None = None) -> Path:
    """The verified cached copy of ``wheel`` (downloaded when missing or altered)."""
    env = os.environ if environ is None else environ
    target = cache / wheel.sha256[:2] / wheel.sha256 / wheel.filename
    if target.is_file() and file_sha256(target) == wheel.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    last: BaseException | None = None
    for _ in range(_TRIES):
        try:
            url = index_file_url(index_url, wheel, env) if index_url else wheel.url
            _download(url, wheel, target.parent, env).replace(target)
            return target
        except (urllib.error.URLError, OSError) as exc:
            last = exc
    assert last is not None
    raise _network_error(last, index_url or net_settings(env).index_url, env)


def fetch_all(wheels: Iterable[LockedWheel], cache: Path,
              environ: Mapping[str, str] | None = None, index_url: str | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """file name -> verified cached path, for every wheel (sequential: one link, one disk)."""
    paths: dict[str, Path] = {}
    for wheel in wheels:
        if progress:
            progress(wheel.filename)
        paths[wheel.filename] = fetch_wheel(wheel, cache, environ, index_url)
    return paths
