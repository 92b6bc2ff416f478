"""--check predicts the install, and every network failure is named: real servers on
127.0.0.1 (tests/setup/netfaults.py) that time out, ask for proxy credentials, present a
private CA, or intercept TLS with a CA that only the system store holds (a private mount
namespace puts it there). A toy repository whose lock holds only ``six`` installs for real
from the local index, so "passes" means the install passed, not only the probe.

Every run is a new user's: no SSL_CERT_FILE, an empty uv cache, HOME in tmp."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from setup_helpers import REPO, Ran, clean_env, run_cmd, toy_repo

from envs.contract.errors import ExitCode
from setup.installer import netcheck
from tests.localtls import serving

pytestmark = [pytest.mark.network, pytest.mark.slow]  # installs end to end; six from PyPI once

FAULTS = Path(__file__).with_name("netfaults.py")
SIX = ("https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413"
       "afcd5e30dfa0ed46c2cc5e/six-1.17.0-py2.py3-none-any.whl",
       "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274")
WHEELS = Path(os.environ.get("KERASUP_TEST_WHEEL_CACHE",
                             Path.home() / ".cache" / "kerasup-test-wheels"))
NEW_USER_DROPS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "NIX_SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
                  "PIP_CERT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                  "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "PIP_INDEX_URL")


def _root_and_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True,
                          check=False).returncode == 0


def serve(*args: str) -> contextlib.AbstractContextManager[int]:
    """One netfaults.py server; its port."""
    return serving(FAULTS, *args)


def _six_wheel() -> bytes:
    cached = WHEELS / SIX[1][:2] / SIX[1] / Path(SIX[0]).name
    if cached.is_file():
        return cached.read_bytes()
    with netcheck.opener(os.environ).open(SIX[0], timeout=60) as response:
        data = response.read()
    assert hashlib.sha256(data).hexdigest() == SIX[1]
    return data


def _page(root: Path, project: str, name: str, data: bytes) -> None:
    (root / "files").mkdir(exist_ok=True)
    (root / "files" / name).write_bytes(data)
    (root / "simple" / project).mkdir(parents=True)
    digest = hashlib.sha256(data).hexdigest()
    (root / "simple" / project / "index.html").write_text(
        f'<html><body><a href="../../files/{name}#sha256={digest}">{name}</a></body></html>')


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEP 503 index: the real six wheel, and a metadata-only uv wheel (what --check
    resolves)."""
    root = tmp_path_factory.mktemp("index")
    _page(root, "six", Path(SIX[0]).name, _six_wheel())
    fake = root / "uv.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("uv-0.13.9.dist-info/METADATA",
                   "Metadata-Version: 2.1\nName: uv\nVersion: 0.13.9\n")
        z.writestr("uv-0.13.9.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                   "Root-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("uv-0.13.9.dist-info/RECORD", "")
    _page(root, "uv", "uv-0.13.9-py3-none-any.whl", fake.read_bytes())
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_repo(tmp_path_factory.mktemp("toy"))


def new_user_env(tmp: Path, **extra: str) -> dict[str, str]:
    """clean_env without any CA or proxy variable of ours, with an empty uv cache."""
    env = {k: v for k, v in clean_env(tmp).items() if k not in NEW_USER_DROPS}
    env.update(HOME=str(tmp / "home"), UV_CACHE_DIR=str(tmp / "uv-cache"), **extra)
    return env


def setup_cmd(repo: Path, tmp: Path, *args: str) -> list[str]:
    return [sys.executable, str(repo / "setup" / "bootstrap.py"), "--no-verify", "--no-kernel",
            "--prefix", str(tmp / "env"), *args]


def check_then_install(repo: Path, tmp: Path, env: dict[str, str],
                       wrap: tuple[str, ...] = ()) -> tuple[Ran, Ran]:
    """``--check``, then the install itself, under the same conditions."""
    check = run_cmd([*wrap, *setup_cmd(repo, tmp, "--check")], env, timeout=300)
    install = run_cmd([*wrap, *setup_cmd(repo, tmp)], env, timeout=300)
    return check, install


def assert_agree(check: Ran, install: Ran, *, ok: bool, cause: str = "") -> None:
    """Both pass, or both fail with one line naming the same cause."""
    if ok:
        assert check.returncode == 0, check.stderr
        assert "index reachable (through uv" in check.stdout
        assert install.returncode == 0, install.stdout + install.stderr
        return
    for ran in (check, install):
        assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stdout + ran.stderr
        errors = [line for line in ran.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and cause in errors[0], ran.stderr
        assert "no network" not in errors[0]


def test_private_ca_index(repo, index_root, test_ca, setup_tools, tmp_path):
    with serve("index", str(index_root), str(test_ca["cert"]), str(test_ca["key"])) as port:
        url = f"https://127.0.0.1:{port}/simple"
        env = new_user_env(tmp_path, KERASUP_INDEX_URL=url)
        assert_agree(*check_then_install(repo, tmp_path, env), ok=False,
                     cause=f"certificate 127.0.0.1:{port} presented is signed by a CA this "
                           "machine does not trust (unknown issuer")
        env["SSL_CERT_FILE"] = str(test_ca["ca"])
        assert_agree(*check_then_install(repo, tmp_path, env), ok=True)
    assert (tmp_path / "env" / "lib").is_dir()


@pytest.mark.skipif(not _root_and_unshare(), reason="needs root and unshare -m")
def test_intercepting_proxy_whose_ca_is_only_in_the_system_store(repo, index_root, test_ca,
                                                                 setup_tools, tmp_path):
    """The corporate condition: HTTPS goes through a proxy that re-signs it; its CA is a file
    in /etc/ssl/certs (hashed, as update-ca-certificates leaves it), in no variable."""
    store = tmp_path / "certs"
    shutil.copytree("/etc/ssl/certs", store, symlinks=True)
    shutil.copy(test_ca["ca"], store / "kerasup-test-proxy-ca.pem")
    subprocess.run(["openssl", "rehash", str(store)], check=True, capture_output=True)
    script = ('mount --bind "$1" /etc/ssl/certs && shift && exec "$@"')
    wrap = ("unshare", "-m", "sh", "-c", script, "sh", str(store))
    with serve("index", str(index_root)) as upstream, \
            serve("intercept", str(test_ca["cert"]), str(test_ca["key"]), str(upstream)) as proxy:
        env = new_user_env(tmp_path, KERASUP_INDEX_URL="https://index.example/simple",
                           HTTPS_PROXY=f"http://127.0.0.1:{proxy}")
        assert_agree(*check_then_install(repo, tmp_path, env), ok=False,
                     cause="index.example presented is signed by a CA this machine does not "
                           "trust")
        assert_agree(*check_then_install(repo, tmp_path, env, wrap), ok=True)


def test_proxy_asking_for_credentials(repo, setup_tools, tmp_path):
    with serve("proxy407") as port:
        env = new_user_env(tmp_path, HTTPS_PROXY=f"http://127.0.0.1:{port}")
        assert_agree(*check_then_install(repo, tmp_path, env), ok=False,
                     cause=f"the proxy 127.0.0.1:{port} asks for credentials (HTTP 407)")


def test_index_that_accepts_and_never_answers(repo, setup_tools, tmp_path):
    with serve("hang") as port:
        env = new_user_env(tmp_path, KERASUP_INDEX_URL=f"https://127.0.0.1:{port}/simple",
                           KERASUP_NET_TIMEOUT="2")
        check, install = check_then_install(repo, tmp_path, env)
    assert_agree(check, install, ok=False,
                 cause=f"127.0.0.1:{port} did not answer within 2s (timed out)")
    assert "KERASUP_NET_TIMEOUT" in install.stderr
    # The raw error is in the log the line names, not on the screen.
    log = Path(install.stderr.rsplit("the full error: ", 1)[1].split(")")[0].strip())
    assert "timed out" in log.read_text(encoding="utf-8")


@pytest.mark.parametrize(("where", "cause"), [
    ("https://nonexistent.invalid/simple", "the name nonexistent.invalid does not resolve"),
    ("https://127.0.0.1:{closed}/simple", "127.0.0.1:{closed} refused the connection"),
    ("https://127.0.0.1:{port}/nothing", "has no such page (HTTP 404)"),
    ("https://localhost:{port}/simple", "the certificate of localhost:{port} is for another"),
    ("https://127.0.0.1:{auth}/simple", "refused access (HTTP 401/403"),
])
def test_check_names_each_cause(where, cause, repo, index_root, test_ca, setup_tools, tmp_path):
    closed = socket_port()
    with serve("index", str(index_root), str(test_ca["cert"]), str(test_ca["key"])) as port, \
            serve("status", "401", str(test_ca["cert"]), str(test_ca["key"])) as auth:
        fill = {"closed": closed, "port": port, "auth": auth}
        env = new_user_env(tmp_path, KERASUP_INDEX_URL=where.format(**fill),
                           SSL_CERT_FILE=str(test_ca["ca"]))
        ran = run_cmd(setup_cmd(repo, tmp_path, "--check"), env, timeout=120)
    assert ran.returncode == ExitCode.CANNOT_PROCEED
    assert len(ran.error_lines) == 1 and cause.format(**fill) in ran.stderr, ran.stderr


def socket_port() -> int:
    """A port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SPY = "kh-pristine-spy"


@pytest.fixture
def other_account() -> Iterator[str]:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("needs root, useradd and runuser")
    subprocess.run(["userdel", SPY], capture_output=True, check=False)
    subprocess.run(["useradd", "--no-create-home", SPY], check=True, capture_output=True)
    yield SPY
    subprocess.run(["userdel", SPY], capture_output=True, check=False)


def test_index_credentials_never_reach_the_process_list(repo, index_root, test_ca, setup_tools,
                                                        other_account, tmp_path):
    """ubuntu.sh --index-url https://USER:TOKEN@host/simple: while setup installs, another
    account's `ps -eo args` never shows the token; no output or log shows it either."""
    token = "tok3n-s3cret-2f9d"
    with serve("index", str(index_root), str(test_ca["cert"]), str(test_ca["key"]),
               f"kerasup:{token}", "0.3") as port:
        url = f"https://kerasup:{token}@127.0.0.1:{port}/simple"
        env = new_user_env(tmp_path, SSL_CERT_FILE=str(test_ca["ca"]))
        cmd = ["bash", str(repo / "setup" / "ubuntu.sh"), "--no-verify", "--no-kernel",
               "--prefix", str(tmp_path / "env"), "--index-url", url]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=tmp_path)
        seen: list[str] = []
        while proc.poll() is None:
            ps = subprocess.run(["runuser", "-u", other_account, "--", "ps", "-eo", "args"],
                                capture_output=True, text=True, check=False)
            seen.append(ps.stdout)
            time.sleep(0.05)
        out = proc.communicate()[0]
    assert proc.returncode == 0, out
    assert any("uv pip sync" in s or "bootstrap.py" in s for s in seen)  # it was watched
    assert not [s for s in seen if token in s]
    assert token not in out
    for log in (tmp_path / "env").rglob("*.log"):
        assert token not in log.read_text(encoding="utf-8", errors="replace")


def test_credentials_in_the_url_for_check_and_a_plain_http_warning(repo, index_root, test_ca,
                                                                   setup_tools, tmp_path):
    """--check reads credentials from the URL as uv does (401 without them); over http://
    one warning line says that they travel unencrypted."""
    with serve("index", str(index_root), str(test_ca["cert"]), str(test_ca["key"]),
               "kerasup:s3cretpw") as port:
        base = f"127.0.0.1:{port}/simple"
        env = new_user_env(tmp_path, SSL_CERT_FILE=str(test_ca["ca"]))
        good = run_cmd(setup_cmd(repo, tmp_path, "--check", "--index-url",
                                 f"https://kerasup:s3cretpw@{base}"), env)
        bad = run_cmd(setup_cmd(repo, tmp_path, "--check", "--index-url", f"https://{base}"),
                      env)
    assert good.returncode == 0 and "https://***@" + base in good.stdout, good.stderr
    assert "s3cretpw" not in good.stdout + good.stderr
    assert bad.returncode == ExitCode.CANNOT_PROCEED and "HTTP 401/403" in bad.stderr
    plain = run_cmd(setup_cmd(repo, tmp_path, "--check", "--index-url",
                              f"http://kerasup:s3cretpw@127.0.0.1:{socket_port()}/simple"), env)
    warnings = [line for line in plain.stderr.splitlines() if "plain http" in line]
    assert len(warnings) == 1 and "s3cretpw" not in plain.stderr


def test_a_proxy_password_with_at_signs_is_masked_whole(repo, setup_tools, tmp_path):
    """Every message masks the whole userinfo, even a password holding '@'; a proxy that
    refuses is named as the proxy, not as "no network"."""
    port = socket_port()
    env = new_user_env(tmp_path, HTTPS_PROXY=f"http://bob:p@ssT0KEN@127.0.0.1:{port}")
    ran = run_cmd(setup_cmd(repo, tmp_path, "--check"), env)
    assert ran.returncode == ExitCode.CANNOT_PROCEED
    assert "T0KEN" not in ran.stdout + ran.stderr and "bob" not in ran.stdout + ran.stderr
    planned = run_cmd(setup_cmd(repo, tmp_path, "--dry-run"), env)
    assert f"HTTPS_PROXY=http://***@127.0.0.1:{port}" in planned.stdout, planned.stdout
    assert "T0KEN" not in planned.stdout + planned.stderr
    assert f"the proxy 127.0.0.1:{port} refused the connection" in ran.stderr, ran.stderr


def test_the_bundle_builder_takes_credentials_in_the_url(index_root, test_ca, tmp_path):
    """The bundle builder's downloads read USER:TOKEN@ as uv does (Basic auth, also for the
    index's file links), and never show the token."""
    from envs.contract.errors import CannotProceed
    from envs.contract.pylock import read_pylock
    from setup.installer.bundle.fetch import fetch_wheel

    six = next(w for p in read_pylock(REPO / "envs/cpu/pylock.toml").packages for w in p.wheels
               if w.filename.startswith("six-"))
    env = {**new_user_env(tmp_path), "SSL_CERT_FILE": str(test_ca["ca"])}
    with serve("index", str(index_root), str(test_ca["cert"]), str(test_ca["key"]),
               "kerasup:s3cretpw") as port:
        good = f"https://kerasup:s3cretpw@127.0.0.1:{port}/simple"
        assert fetch_wheel(six, tmp_path / "cache", env, good).is_file()
        with pytest.raises(CannotProceed) as refused:
            fetch_wheel(six, tmp_path / "other", env, f"https://kerasup:b4dT0K@127.0.0.1:{port}"
                        "/simple")
    line = refused.value.one_line()
    assert "HTTP 401/403" in line and "b4dT0K" not in line and "s3cretpw" not in line
