"""envs/lock/reproduce.py and the index snapshot: the real lock step (uv's resolver, the conda
solve, the SBOM) replayed from envs/index-snapshot/ reproduces the committed locks byte for
byte with no network; drift is a report against a real index (here a local replay of a
changed snapshot), never a test that today's registry can turn red."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envs.lock.index_proxy import IndexProxy, serving
from envs.lock.index_snapshot import SNAPSHOT_DIR, IndexSnapshot, trim_metadata, trim_page
from envs.lock.reproduce import reproduce
from envs.lock.spec import load_spec
from envs.lock.workflow import snapshot_channel

REPO = Path(__file__).resolve().parents[2]


def _lock_cli(*args: str, env: dict[str, str] | None = None, unshare: bool = False,
              timeout: int = 300) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "envs.lock", "-q", *args]
    if unshare:
        argv = ["unshare", "-n", *argv]
    return subprocess.run(argv, cwd=REPO, text=True, capture_output=True, check=False,
                          timeout=timeout, env=env or dict(os.environ))


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0


def test_reproduce_with_no_network_gives_the_committed_locks(conda_forge_snapshot):
    """The suite's relock: every lock file of both variants, byte for byte, from the snapshot,
    in a network namespace with nothing but loopback (as root; plainly otherwise)."""
    ran = _lock_cli("--reproduce", "--conda-snapshot", str(conda_forge_snapshot),
                    unshare=_can_unshare())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for variant in ("cpu", "gpu"):
        for name in ("requirements.txt", "pylock.toml", "conda-lock.yml", "sbom.cdx.json"):
            assert f"{variant}/{name}: identical" in ran.stdout, ran.stdout
    assert "Traceback" not in ran.stderr


@pytest.mark.slow
def test_a_one_line_pin_edit_is_named_package_by_package(envs_copy, conda_forge_snapshot):
    lock = envs_copy / "cpu" / "requirements.txt"
    text = lock.read_text()
    assert "\nsix==1.17.0 ;" in text
    lock.write_text(text.replace("\nsix==1.17.0 ;", "\nsix==1.16.0 ;"))
    ran = _lock_cli("--reproduce", "--variant", "cpu", "--envs-dir", str(envs_copy),
                    "--conda-snapshot", str(conda_forge_snapshot))
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "cpu/requirements.txt: differs (committed → reproduced):" in ran.stdout
    assert "  six 1.16.0 → 1.17.0" in ran.stdout
    assert "cpu/pylock.toml: identical" in ran.stdout
    assert ran.stdout.strip().splitlines()[-1].startswith("reproduce: FAILED: 1 file(s)")


def test_a_snapshot_missing_an_answer_says_which(tmp_path, conda_forge_snapshot, capsys):
    snapshot = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, snapshot)
    (snapshot / "simple" / "six.json").unlink()
    status = reproduce([load_spec("cpu")], snapshot_channel(conda_forge_snapshot), snapshot)
    out = capsys.readouterr().out
    assert status == 1
    assert "the snapshot lacks" in out and "/simple/six/" in out
    assert "cpu: the lock step failed against the snapshot" in out


def _replay_env(network: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith("_PROXY") and not k.startswith(("UV_", "SSL_CERT"))}
    return {**env, **network, "UV_NATIVE_TLS": "0"}


def test_drift_names_what_a_relock_would_change(tmp_path):
    """The snapshot without its withheld releases stands in for today's index: drift names
    them old → new, exits 1 and writes nothing."""
    root = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, root)
    snapshot = IndexSnapshot.load(root)
    assert snapshot.withheld  # the releases the index filled in after the lock was made
    snapshot.withheld = {}
    before = {p: p.read_bytes() for p in (REPO / "envs" / "cpu").iterdir()}
    with serving(IndexProxy(snapshot)) as network:
        ran = _lock_cli("--drift", "--variant", "cpu",
                        env=_replay_env({**network, "UV_CACHE_DIR": str(tmp_path / "c")}))
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "  upgraded  ml-dtypes 0.6.0 → 0.7.0" in ran.stdout
    assert "  upgraded  httpx 0.28.1 → 0.29.0" in ran.stdout
    assert ran.stdout.startswith("cpu: 2 upgraded\n")
    last = ran.stdout.strip().splitlines()[-1]
    assert last.startswith("drift: a relock today would change 2 package(s) in cpu")
    assert before == {p: p.read_bytes() for p in (REPO / "envs" / "cpu").iterdir()}


def test_no_drift_exits_0(tmp_path):
    with serving(IndexProxy(IndexSnapshot.load())) as network:
        ran = _lock_cli("--drift", "--variant", "gpu",
                        env=_replay_env({**network, "UV_CACHE_DIR": str(tmp_path / "c")}))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[0] == "gpu: no change"
    assert ran.stdout.strip().splitlines()[-1].startswith("drift: none")


def test_drift_against_an_unreachable_index_is_one_line_and_exit_3(tmp_path):
    ran = _lock_cli("--drift", "--variant", "cpu", "--index-url",
                    "https://user:s3cret@127.0.0.1:1/simple",
                    env={**os.environ, "UV_HTTP_RETRIES": "0",
                         "UV_CACHE_DIR": str(tmp_path / "c")})
    assert ran.returncode == 3, ran.stdout + ran.stderr
    lines = ran.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("drift: error: the index at 127.0.0.1 could not be reached: "
                               "connection refused")
    assert "s3cret" not in ran.stdout + ran.stderr


@pytest.mark.parametrize("args", [["--index-url", "https://x/simple"],
                                  ["--reproduce", "--refresh"], ["--drift", "--conda-only"],
                                  ["--reproduce", "--drift"], ["--check", "--extend"],
                                  ["--extend", "--refresh"]])
def test_contradicting_options_are_refused(args):
    ran = _lock_cli(*args)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr


def test_recording_keeps_only_what_a_resolution_reads():
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "versions": ["1.0", "2.0"],
            "files": [
                {"filename": "demo-1.0-py3-none-any.whl", "url": "https://f/demo-1.0.whl",
                 "hashes": {"sha256": "a" * 64}, "upload-time": "2026-01-01T00:00:00Z",
                 "core-metadata": True, "provenance": "https://p", "size": 10},
                {"filename": "demo-2.0-py3-none-any.whl", "url": "https://f/demo-2.0.whl",
                 "hashes": {"sha256": "b" * 64}, "upload-time": "2026-12-01T00:00:00Z"}]}
    trimmed = trim_page(page, "2026-11-27T00:00:00Z")
    assert [f["filename"] for f in trimmed["files"]] == ["demo-1.0-py3-none-any.whl"]
    assert trimmed["versions"] == ["1.0"] and "provenance" not in trimmed["files"][0]
    metadata = b"Metadata-Version: 2.1\nName: demo\nRequires-Dist: six\n\nLong text\n\nmore\n"
    assert trim_metadata(metadata) == b"Metadata-Version: 2.1\nName: demo\nRequires-Dist: six\n"


def test_the_snapshot_serves_nothing_outside_itself(tmp_path):
    root = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT_DIR, root)
    snapshot = IndexSnapshot.load(root)
    (tmp_path / "secret.json").write_text("{}")
    for path in ("/simple/../../secret/", "/simple/..%2f..%2fsecret/", "/etc/passwd",
                 "/packages/../../secret.json.metadata", "/simple/six/../../x/"):
        assert snapshot.answer("pypi.org", path) is None, path
    assert snapshot.answer("../..", "/simple/six/") is None
    six = snapshot.answer("pypi.org", "/simple/six/")
    assert six is not None and json.loads(six.body)["name"] == "six"
    withheld = json.loads(snapshot.answer("pypi.org", "/simple/ml-dtypes/").body)
    assert not any("0.7.0" in f["filename"] for f in withheld["files"])


def test_the_snapshot_is_small_text():
    files = [p for p in SNAPSHOT_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 8 * 1024 * 1024
    for path in files:
        path.read_text(encoding="utf-8")  # text, not binary


@pytest.mark.live_index
def test_drift_against_the_live_index():
    """On demand only (nox -s live_index): the report's shape against today's index."""
    ran = _lock_cli("--drift")
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    assert ran.stdout.strip().splitlines()[-1].startswith("drift: ")


@pytest.mark.slow
def test_a_relock_records_the_snapshot_it_was_served(envs_copy, conda_forge_snapshot,
                                                       tmp_path):
    """A relock of cpu whose upstream is the committed snapshot (replayed: the recorder asks it
    as it would ask the live index) writes the same locks and a new snapshot, from which
    --reproduce then gives them back."""
    with serving(IndexProxy(IndexSnapshot.load())) as upstream:
        env = _replay_env({**upstream, "UV_CACHE_DIR": str(tmp_path / "c")})
        ran = _lock_cli("--variant", "cpu", "--envs-dir", str(envs_copy), "--conda-snapshot",
                        str(conda_forge_snapshot), env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for name in ("requirements.txt", "pylock.toml", "conda-lock.yml", "sbom.cdx.json"):
        assert (envs_copy / "cpu" / name).read_bytes() == \
            (REPO / "envs" / "cpu" / name).read_bytes(), name
    recorded = IndexSnapshot.load(envs_copy / SNAPSHOT_DIR.name)
    assert recorded.recorded_at > IndexSnapshot.load().recorded_at
    assert recorded.variants == ["cpu", "gpu"] and recorded.index_url.endswith("/simple")
    assert not (envs_copy / (SNAPSHOT_DIR.name + ".recording")).exists()
    again = _lock_cli("--reproduce", "--variant", "cpu", "--envs-dir", str(envs_copy),
                      "--conda-snapshot", str(conda_forge_snapshot))
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.slow
def test_extend_adds_a_package_without_the_drift(envs_copy, conda_forge_snapshot, tmp_path):
    """`--extend` against an index that serves newer releases (the committed snapshot without
    its withheld ones): only the package the snapshot lacks (pip) is asked of that index and
    recorded; ml-dtypes and httpx keep their locked versions, so the gpu locks come out
    byte-identical to the committed ones."""
    snapshot = envs_copy / SNAPSHOT_DIR.name
    (snapshot / "simple" / "pip.json").unlink()
    for metadata in (snapshot / "metadata").glob("pip-*.metadata"):
        metadata.unlink()
    drifted = IndexSnapshot.load()
    drifted.withheld = {}
    with serving(IndexProxy(drifted)) as upstream:
        env = _replay_env({**upstream, "UV_CACHE_DIR": str(tmp_path / "c")})
        ran = _lock_cli("--extend", "--variant", "gpu", "--envs-dir", str(envs_copy),
                        "--conda-snapshot", str(conda_forge_snapshot), env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for name in ("requirements.txt", "pylock.toml", "conda-lock.yml", "sbom.cdx.json"):
        assert (envs_copy / "gpu" / name).read_bytes() == \
            (REPO / "envs" / "gpu" / name).read_bytes(), name
    recorded = IndexSnapshot.load(snapshot)
    assert recorded.withheld == IndexSnapshot.load().withheld
    assert (snapshot / "simple" / "pip.json").read_bytes() == \
        (SNAPSHOT_DIR / "simple" / "pip.json").read_bytes()
    assert recorded.notes[-1].startswith("Extended on ")
    assert ": pip recorded from the live index;" in recorded.notes[-1]
    assert (snapshot / "simple" / "ml-dtypes.json").read_bytes() == \
        (SNAPSHOT_DIR / "simple" / "ml-dtypes.json").read_bytes()
