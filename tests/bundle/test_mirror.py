"""A real local index (pypiserver over HTTPS on 127.0.0.1, with a CA this test generates):
uv and the bundle builder go through it only when SSL_CERT_FILE names that CA; otherwise
netcheck's one-line TLS remedy; a wheel the mirror alters is refused by the lock's hash."""

from __future__ import annotations

import os
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.contract.errors import CannotProceed, UsageError
from envs.contract.pylock import read_pylock
from setup.installer.bundle.build import BundleRequest, make_bundle
from setup.installer.bundle.fetch import fetch_wheel
from setup.installer.bundle.select import select_wheels
from setup.installer.bundle.source import BundleSource, unpack_uv
from setup.installer.netcheck import index_args, net_settings, probe_index, ssl_env
from tests.localtls import serving

from .conftest import LINUX, REPO, python_for

pytestmark = [pytest.mark.slow, pytest.mark.network]  # the linux bundle fixture downloads once
SERVER = Path(__file__).with_name("tls_index.py")
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


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


def test_uv_installs_the_lock_through_the_mirror_only_with_its_ca(mirror, test_ca, uv, tmp_path):
    lock = REPO / "envs" / "cpu" / "requirements.txt"
    without = _env(tmp_path, None)
    python = _venv(uv, tmp_path, without)
    refused = _sync(uv, without, mirror, python, lock)
    assert refused.returncode != 0
    assert "unknown issuer" in probe_index(without, mirror).problem
    done = _sync(uv, _env(tmp_path, test_ca["ca"]), mirror, python, lock)
    assert done.returncode == 0, done.stderr[-2000:]
    check = subprocess.run([str(python), "-c", "import keras, numpy; print(keras.__version__)"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr[-2000:]


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
    lines = (REPO / "envs/cpu/requirements.txt").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("six=="))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    --hash"))
    (tmp_path / "six.txt").write_text("\n".join(lines[start:end]) + "\n")
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
