"""A real local index (pypiserver over HTTPS on 127.0.0.1, with a CA this test generates):
uv and the bundle builder go through it only when SSL_CERT_FILE names that CA; otherwise
netcheck's one-line TLS remedy; a wheel the mirror alters is refused by the lock's hash.

uv installs part of the real CPU lock through the mirror (Keras and everything it needs,
hash-pinned as the lock has them, compiled wheels among them: about 30 MB), refused first
without the CA; every installed module is then imported. The whole lock, TensorFlow
included, goes through the mirror in the bundle builder's test, which downloads every
wheel into an empty cache and must produce the shared linux bundle's manifest."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.piplock import canonical_name, parse_requirements
from envs.contract.pylock import read_pylock
from setup.installer.bundle.build import BundleRequest, make_bundle
from setup.installer.bundle.fetch import fetch_wheel
from setup.installer.bundle.select import select_wheels
from setup.installer.bundle.source import BundleSource, unpack_uv
from setup.installer.netcheck import (
    index_args,
    net_settings,
    probe_index,
    ssl_context,
    ssl_env,
)
from tests.localtls import serving

from .conftest import LINUX, REPO, python_for

pytestmark = [pytest.mark.slow, pytest.mark.network]  # the linux bundle fixture downloads once
SERVER = Path(__file__).with_name("tls_index.py")
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"


@pytest.fixture(scope="module")
def mirror(linux_bundle, test_ca, tmp_path_factory) -> Iterator[str]:
    """pypiserver serving the linux bundle's wheels and its uv wheel."""
    packages = tmp_path_factory.mktemp("mirror")
    for sub in ("wheels", "uv"):
        for wheel in (linux_bundle.directory / sub).iterdir():
            os.link(wheel, packages / wheel.name)
    with serving(SERVER, str(packages), str(test_ca["cert"]), str(test_ca["key"])) as port:
        yield f"https://127.0.0.1:{port}/simple"


def _env(tmp: Path, ca: Path | str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_PROXY", "_proxy", "INDEX_URL", "_CA_BUNDLE", "CERT_FILE"))}
    env.update({"UV_CACHE_DIR": str(tmp / "uv-cache"), "NO_PROXY": "127.0.0.1",
                "UV_PYTHON_DOWNLOADS": "never", "SSL_CERT_FILE": str(ca or SYSTEM_CA)})
    env.pop("SSL_CERT_DIR", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_reports_settings_and_remedies(mirror, test_ca, tmp_path):
    good = probe_index(_env(tmp_path, test_ca["ca"]), mirror)
    assert good.ok, good.one_line()
    assert good.settings.index_source == "--index-url" and good.settings.ca_file == str(
        test_ca["ca"])
    bad = probe_index(_env(tmp_path, None), mirror)
    assert not bad.ok and "unknown issuer" in bad.problem
    assert "SSL_CERT_FILE" in bad.fix and "\n" not in bad.one_line()
    closed = f"https://127.0.0.1:{_free_port()}/simple"
    down = probe_index(_env(tmp_path, test_ca["ca"]), closed, timeout=5)
    assert "refused the connection" in down.problem and down.problem.startswith("127.0.0.1")
    proxied = {**_env(tmp_path, test_ca["ca"]), "NO_PROXY": "",
               "HTTPS_PROXY": f"http://127.0.0.1:{_free_port()}"}
    refused = probe_index(proxied, mirror, timeout=5)
    assert refused.problem.startswith("the proxy 127.0.0.1") and "HTTPS_PROXY" in refused.fix


def test_no_proxy_bypasses_a_dead_proxy_and_downloads_need_the_ca(mirror, test_ca, tmp_path):
    env = {**_env(tmp_path, test_ca["ca"]), "HTTPS_PROXY": f"http://127.0.0.1:{_free_port()}",
           "NO_PROXY": "localhost,127.0.0.1"}
    assert probe_index(env, mirror, timeout=5).ok
    six = next(w for p in read_pylock(REPO / "envs/cpu/pylock.toml").packages for w in p.wheels
               if w.filename.startswith("six-"))
    assert fetch_wheel(six, tmp_path / "cache", env, mirror).is_file()
    with pytest.raises(CannotProceed) as failed:
        fetch_wheel(six, tmp_path / "other-cache", _env(tmp_path, None), mirror)
    assert "unknown issuer" in failed.value.one_line()
    assert "SSL_CERT_FILE" in failed.value.one_line()


def test_a_ca_file_rewritten_in_place_is_trusted_anew(mirror, test_ca, tmp_path):
    """netcheck shares one TLS context per set of CA files (size and mtime included)."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(SYSTEM_CA).read_bytes())
    env = _env(tmp_path, ca)
    assert ssl_context(env) is ssl_context(dict(env))
    assert "unknown issuer" in probe_index(env, mirror).problem
    ca.write_bytes(Path(SYSTEM_CA).read_bytes() + test_ca["ca"].read_bytes())
    assert probe_index(env, mirror).ok


def test_index_settings_follow_uv_then_pip_variables():
    assert net_settings({}).index_source == "default"
    env = {"PIP_INDEX_URL": "https://pip.example/simple/",
           "UV_DEFAULT_INDEX": "https://uv.example/simple"}
    assert net_settings(env).index_url == "https://uv.example/simple"
    assert net_settings({"PIP_INDEX_URL": "https://pip.example/simple/"}).index_url == \
        "https://pip.example/simple"
    assert net_settings(env, "https://flag.example/simple").index_source == "--index-url"
    assert index_args("https://m/simple/") == ["--default-index", "https://m/simple"]
    assert index_args(None) == []
    assert ssl_env({"SSL_CERT_FILE": "/ca.pem"}, system_store=True) == {}
    assert ssl_env({}, system_store=True) == {"UV_SYSTEM_CERTS": "1"}
    secret = net_settings({"HTTPS_PROXY": "http://bob:hunter2@proxy:3128"},
                          "https://me:tok@mirror/simple")
    assert "hunter2" not in secret.describe() and "tok@" not in secret.describe()


@pytest.fixture(scope="module")
def uv(linux_bundle, tmp_path_factory) -> str:
    """The bundle's own uv (the one the installer runs)."""
    source = BundleSource(linux_bundle.directory, linux_bundle.directory, linux_bundle.manifest,
                          "")
    return str(unpack_uv(source, "linux-64", tmp_path_factory.mktemp("uv") / "uv"))


def _venv(uv: str, tmp: Path, env: dict[str, str]) -> Path:
    python = python_for("3.12")
    if python is None:
        pytest.skip("needs a CPython 3.12 interpreter")
    subprocess.run([uv, "venv", "--quiet", "--python", python, str(tmp / "venv")], env=env,
                   check=True)
    return tmp / "venv" / "bin" / "python"


def _sync(uv: str, env: dict[str, str], url: str, python: Path, lock: Path
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([uv, "pip", "sync", "--no-config", "--require-hashes",
                           *index_args(url), "--python", str(python), str(lock)],
                          env=env, capture_output=True, text=True, check=False)


def _lock_part(roots: set[str], dest: Path) -> dict[str, set[str]]:
    """The CPU lock's entries for `roots` and all they need (its `# via` notes), written to
    `dest` as the lock has them (header, markers, hashes); name -> its locked versions."""
    text = CPU_LOCK.read_text()
    entries = parse_requirements(text)
    keep = {canonical_name(r) for r in roots}
    while more := {e.name for e in entries if e.name not in keep and e.via & keep}:
        keep |= more
    lines = text.splitlines()
    ends = [e.line - 1 for e in entries[1:]] + [len(lines)]
    part = lines[:entries[0].line - 1]
    for entry, end in zip(entries, ends, strict=True):
        if entry.name in keep:
            part += lines[entry.line - 1:end]
    dest.write_text("\n".join(part) + "\n")
    return {n: {e.version for e in entries if e.name == n} for n in keep}


# In the venv: every installed distribution's version, and each of its top-level modules
# imported (but those of the distributions named on the command line).
IMPORT_ALL = """
import importlib, importlib.metadata as md, json, sys
found = {}
for dist in md.distributions():
    found[dist.metadata["Name"]] = dist.version
    if dist.metadata["Name"] not in sys.argv[1:]:
        for top in {f.parts[0].removesuffix(".py") for f in dist.files if f.suffix == ".py"}:
            if top.isidentifier() and top != "__pycache__":
                importlib.import_module(top)
print(json.dumps(found))
"""


def test_uv_installs_the_lock_through_the_mirror_only_with_its_ca(mirror, test_ca, uv, tmp_path):
    """Keras and all it needs, as the CPU lock pins them (hashes required): numpy, h5py,
    ml-dtypes, optree (compiled) and pure-Python wheels, about 30 MB; not TensorFlow, whose
    wheels go through the mirror in the bundle builder's test below."""
    lock = tmp_path / "keras-part.txt"
    locked = _lock_part({"keras"}, lock)
    assert {"keras", "numpy", "h5py"} <= set(locked) and "tensorflow-cpu" not in locked
    without = _env(tmp_path, None)
    python = _venv(uv, tmp_path, without)
    refused = _sync(uv, without, mirror, python, lock)
    assert refused.returncode != 0
    assert "unknown issuer" in probe_index(without, mirror).problem
    done = _sync(uv, _env(tmp_path, test_ca["ca"]), mirror, python, lock)
    assert done.returncode == 0, done.stderr[-2000:]
    # keras itself imports its backend, TensorFlow, left out here: the rest is imported.
    check = subprocess.run([str(python), "-c", IMPORT_ALL, "keras"], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stderr[-2000:]
    found = {canonical_name(n): v for n, v in json.loads(check.stdout).items()}
    assert set(found) == set(locked), (found, locked)
    assert all(v in locked[n] for n, v in found.items()), (found, locked)


@pytest.fixture()
def altering_mirror(linux_bundle, test_ca, tmp_path) -> Iterator[tuple[str, str]]:
    """A second pypiserver whose copy of six has different bytes under the same name."""
    packages = tmp_path / "altered"
    packages.mkdir()
    six = next((linux_bundle.directory / "wheels").glob("six-*.whl"))
    # A valid wheel with other content (as a compromised mirror would serve), not a broken zip.
    with zipfile.ZipFile(six) as src, zipfile.ZipFile(packages / six.name, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "six.py":
                data += b"\nimport os  # injected by the mirror\n"
            dst.writestr(info, data)
    with serving(SERVER, str(packages), str(test_ca["cert"]), str(test_ca["key"])) as port:
        yield f"https://127.0.0.1:{port}/simple", six.name


def test_altered_wheel_is_refused_by_the_lock_hash(altering_mirror, test_ca, uv, tmp_path):
    url, name = altering_mirror
    env = _env(tmp_path, test_ca["ca"])
    assert set(_lock_part({"six"}, tmp_path / "six.txt")) == {"six"}
    refused = _sync(uv, env, url, _venv(uv, tmp_path, env), tmp_path / "six.txt")
    assert refused.returncode != 0 and "hash" in refused.stderr.lower()
    wheel = next(w for p in read_pylock(REPO / "envs/cpu/pylock.toml").packages for w in p.wheels
                 if w.filename == name)
    with pytest.raises(UsageError, match=name):
        fetch_wheel(wheel, tmp_path / "cache", env, url)
    assert not list((tmp_path / "cache").rglob("*.whl"))


def test_bundle_builder_downloads_through_the_mirror(mirror, test_ca, linux_bundle, tmp_path):
    env = _env(tmp_path, test_ca["ca"])
    result = make_bundle(BundleRequest(out=tmp_path / "b", targets=(LINUX,),
                                       cache=tmp_path / "empty-cache", index_url=mirror,
                                       environ=env))
    wheels = select_wheels(read_pylock(REPO / "envs/cpu/pylock.toml").packages, [LINUX])
    assert len(list((tmp_path / "empty-cache").rglob("*.whl"))) == len(wheels) + 1
    assert {k: v for k, v in result.manifest.files.items() if k.startswith(("wheels/", "uv/"))} \
        == {k: v for k, v in linux_bundle.manifest.files.items()
            if k.startswith(("wheels/", "uv/"))}
