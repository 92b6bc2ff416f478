"""The installer's one command-line face and its parts that need no download: hidden
internal flags, exclusive modes, typed steps, the toolkit payload, --make-bundle's refusal
of a folder it does not own, and a CRLF-mangled install.sh."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from envs.contract.errors import ExitCode
from setup.installer import payload
from setup.installer.bundle import carrier
from setup.installer.bundle.manifest import BUILDING_MARKER, MANIFEST, FileEntry, Manifest
from setup.installer.plan import Action, Step
from setup.installer.workflow import Executor

from .setup_helpers import BOOTSTRAP, REPO


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BOOTSTRAP), *map(str, args)],
                          capture_output=True, text=True, check=False, cwd=REPO)


def test_internal_flags_are_hidden_and_still_work():
    shown = _run("--help")
    assert shown.returncode == 0 and "--find-dot" not in shown.stdout
    assert "--from-bundle" in shown.stdout and "--expect-sha256" in shown.stdout
    assert _run("--find-dot").returncode in (ExitCode.OK, ExitCode.FAILED)


@pytest.mark.parametrize("args", [
    ("--from-bundle", "B", "--conda"), ("--from-bundle", "B", "--make-bundle", "O"),
    ("--in-place", "--prefix", "/x"), ("--from-bundle", "B", "--index-url", "https://m/simple"),
    ("--make-bundle", "O", "--dry-run")])
def test_exclusive_modes_are_one_line(args, tmp_path):
    done = _run(*args)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "cannot be combined with" in done.stderr
    assert not Path("O").exists() and not (REPO / "O").exists()


def test_every_step_kind_has_exactly_one_handler_and_unknown_kinds_fail():
    handlers = Executor.handlers(Executor.__new__(Executor))
    assert set(handlers) == set(Step)
    with pytest.raises(ValueError):
        Action("rm -rf", "not a step")
    assert Action("sync", "x").kind is Step.SYNC


def test_payload_is_the_runtime_only():
    files = payload.files(REPO)
    assert "setup/installer/workflow.py" in files and "verify/cli.py" in files
    assert "envs/contract/layout.py" in files and "envs/cpu/requirements.txt" in files
    assert not [f for f in files if f.startswith(("tests/", "setup/ansible/", "envs/lock/",
                                                  "benchmarks/", ".git"))]
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_pack_toolkit_uses_the_payload(tmp_path):
    import tarfile

    script = REPO / "setup/ansible/roles/kerasup/files/pack_toolkit.py"
    if not script.is_file():
        script = next(REPO.glob("setup/ansible/**/pack_toolkit.py"))
    out = tmp_path / "toolkit.tar.gz"
    subprocess.run([sys.executable, str(script), str(REPO), str(out)], check=True)
    with tarfile.open(out) as tar:
        packed = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert packed == payload.files(REPO)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _our_manifest(listed: dict[str, bytes]) -> str:
    return Manifest(variant="cpu", lock="toolkit/envs/cpu/requirements.txt", lock_sha256="0",
                    targets=(("linux-64", "3.12"),), uv={}, toolkit_version="0",
                    toolkit_commit="0", data=None,
                    files={rel: FileEntry(len(b), hashlib.sha256(b).hexdigest())
                           for rel, b in listed.items()}).to_json()


@pytest.mark.parametrize("ours", [False, True])
def test_make_bundle_never_touches_a_users_files(tmp_path, ours):
    out = tmp_path / "usb"
    (out / "icons").mkdir(parents=True)
    (out / "thesis.txt").write_text("four years of work")
    (out / "icons" / "a.png").write_bytes(b"\x89PNG")
    (out / "README.txt").write_text("a bundle's readme")
    (out / MANIFEST).write_text(_our_manifest({"README.txt": b"a bundle's readme"}) if ours
                                else '{"name": "my web app"}')
    before = _tree(out)
    done = _run("--make-bundle", out, "--platform", "linux-64", "--python", "3.12")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "thesis.txt" in done.stderr or "icons/a.png" in done.stderr or MANIFEST in done.stderr
    assert _tree(out) == before


@pytest.mark.parametrize("state", ["built", "interrupted"])
def test_make_bundle_never_writes_through_a_link_at_one_of_its_names(tmp_path, state):
    """A bundle kerasup made (its manifest lists the wheel) or an interrupted build (its
    marker): a link at a wheel's name, or at its .part, is refused; the target is intact."""
    out = tmp_path / "usb"
    (out / "wheels").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / "wheels" / "six-1.17.0-py2.py3-none-any.whl").symlink_to(victim)
    (out / "wheels" / "six-1.17.0-py2.py3-none-any.whl.part").symlink_to(victim)
    if state == "built":
        (out / MANIFEST).write_text(_our_manifest({
            "wheels/six-1.17.0-py2.py3-none-any.whl": b"x",
            "wheels/six-1.17.0-py2.py3-none-any.whl.part": b"x"}))
    else:
        (out / BUILDING_MARKER).write_text("kerasup bundle build in progress\n")
    done = _run("--make-bundle", out, "--platform", "linux-64", "--python", "3.12")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "wheels/six-1.17.0-py2.py3-none-any.whl" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "precious"
    assert (out / "wheels" / "six-1.17.0-py2.py3-none-any.whl").is_symlink()


def test_crlf_install_sh_is_one_kerasup_line(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "toolkit" / "setup").mkdir(parents=True)
    (bundle / "install.sh").write_bytes(carrier.INSTALL_SH.replace("\n", "\r\n").encode())
    done = subprocess.run(["sh", str(bundle / "install.sh")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("kerasup: error: ") and "CRLF" in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    plain = subprocess.run(["sh", str(bundle / "install.sh")], capture_output=True, text=True,
                           check=False)
    assert plain.returncode == 2  # still the same file
    (bundle / "install.sh").write_text(carrier.INSTALL_SH)
    (bundle / "toolkit/setup/ubuntu.sh").write_text('echo "ubuntu.sh $*"\n')
    ran = subprocess.run(["sh", str(bundle / "install.sh"), "--yes"], capture_output=True,
                         text=True, check=False)
    assert ran.returncode == 0 and ran.stdout.strip() == f"ubuntu.sh --from-bundle {bundle} --yes"


def test_planning_runs_no_uv_and_writes_no_keras_json(tmp_path):
    """The planner reads the pinned uv's version from its dist-info and asks keras_json.plan:
    a uv that records being run, and a missing keras.json, stay as they were."""
    import json
    import os

    from setup.installer import uvtool

    tools = tmp_path / "tools"
    ran = tmp_path / "uv-was-run"
    (tools / "bin").mkdir(parents=True)
    (tools / "bin" / "uv").write_text(f"#!/bin/sh\ntouch {ran}\necho uv 0\n")
    (tools / "bin" / "uv").chmod(0o755)
    (tools / "lib/python3.12/site-packages" / f"uv-{uvtool.pinned_version()}.dist-info").mkdir(
        parents=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "KERASUP_BOOTSTRAP_TOOLS": str(tools), "HOME": str(home)}
    env.pop("KERAS_HOME", None)
    env.pop("KERASUP_UV", None)
    done = subprocess.run([sys.executable, str(BOOTSTRAP), "--plan-json", "--prefix",
                           str(tmp_path / "env")], capture_output=True, text=True, env=env,
                          check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["uv"] == str(tools / "bin" / "uv") and "ensure-uv" not in [
        a["kind"] for a in plan["actions"]]
    assert plan["keras_json"]["action"] == "created" and not (home / ".keras").exists()
    assert not ran.exists()


_PURE_PLAN = """
import json, os, sys
from pathlib import Path
from setup.installer import discover, planner
from setup.installer.plan import Options

repo, prefix, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
env = dict(os.environ)
options = Options(variant="gpu", prefix=prefix, dry_run=True)
started, watching = [], [True]
sys.addaudithook(lambda event, _args: started.append(event) if watching[0] and event.startswith(
    ("subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.fork")) else None)
found = planner.survey(options, environ=env, repo=repo)
watching[0] = False
facts = discover.discover(options, found, environ=env, repo=repo)
watching[0] = True
after_discover = log.read_text() if log.exists() else ""
made = planner.plan(options, found, facts, environ=env, repo=repo)
print(json.dumps({"discover": after_discover, "plan": (log.read_text() if log.exists() else
                  "")[len(after_discover):], "started": started,
                  "discovered": list(made.discovered), "kinds": made.kinds()}))
"""


def test_the_planner_runs_no_program(tmp_path):
    """Probes belong to the discover phase: with recording stand-ins for python3.12,
    nvidia-smi, uv, jupyter and dot first on PATH, discover runs the Python and nvidia-smi
    ones; the survey before it and the planner after it, given those facts, start no process
    at all (an audit hook on every process start) and no stand-in records a run."""
    import json
    import os

    bin_dir, log = tmp_path / "bin", tmp_path / "ran.log"
    bin_dir.mkdir()
    for name, then in (("python3.12", f'exec {sys.executable} "$@"'),
                       ("nvidia-smi", "exit 9"), ("uv", "exit 9"), ("jupyter", "exit 9"),
                       ("dot", "exit 9")):
        (bin_dir / name).write_text(f"#!/bin/sh\necho {name} >> {log}\n{then}\n")
        (bin_dir / name).chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home),
           "PYTHONPATH": str(REPO)}
    for name in ("KERASUP_PYTHON", "KERASUP_UV", "KERAS_HOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", _PURE_PLAN, str(REPO), str(tmp_path / "env"),
                           str(log)], capture_output=True, text=True, env=env, check=False,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "nvidia-smi" in result["discover"].split() and "python3.12" in result["discover"]
    assert "nvidia-smi" in result["discovered"]
    assert any(p.startswith("interpreters") for p in result["discovered"])
    assert result["plan"] == "" and result["started"] == []
    assert "create-env" in result["kinds"] or "install" in " ".join(result["kinds"])


def test_make_bundle_never_replaces_an_archive_it_did_not_make(tmp_path):
    mine = tmp_path / "kerasup-cpu.tar.gz"
    mine.write_bytes(b"my own backup")
    done = _run("--make-bundle", mine, "--platform", "linux-64", "--python", "3.12")
    assert done.returncode == ExitCode.USAGE and "nothing was changed" in done.stderr
    assert mine.read_bytes() == b"my own backup" and not (tmp_path / "kerasup-cpu").exists()
