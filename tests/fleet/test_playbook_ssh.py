"""The real playbook (setup/ansible/site.yml) over real SSH against a lab of loopback hosts.

One sshd listens on 127.0.0.2-5; 127.0.0.6 has nothing listening. The hosts share this
machine's filesystem, so each has its own prefix, toolkit folder, Jupyter prefix and HOME.

    lab-ok       healthy: ends ready
    lab-theano1  installed fine, then a student's keras.json names theano: the re-verify
    lab-theano2  (--tags verify,report) finds it, and the fleet report groups the two
    lab-disk     its prefix sits on a full 1 MiB tmpfs: fails with the disk message,
                 nothing is half-installed
    lab-down     unreachable

Runs, in order: --check on the new hosts; first run; second run (changed=0); --check after
breaking keras.json (nothing changes, the would-be repair is reported); --tags verify,report;
the fleet report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from envs.lock.pip_lock import uv_bin
from tests.fleet.sshlab import (
    REPO,
    SSHD,
    PlayRun,
    ansible_env,
    playbook_bin,
    run_playbook,
    ssh_lab,
)

pytestmark = [
    pytest.mark.slow, pytest.mark.fleet,
    pytest.mark.skipif(not SSHD.exists(), reason="needs Debian's openssh-server (/usr/sbin/sshd)"),
    pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                       reason="needs root: sshd root login, tmpfs mounts"),
    pytest.mark.skipif(playbook_bin() is None, reason="needs ansible-core in this venv"),
]

ADDRESSES = {"lab-ok": "127.0.0.2", "lab-theano1": "127.0.0.3", "lab-theano2": "127.0.0.4",
             "lab-disk": "127.0.0.5"}
DOWN = ("lab-down", "127.0.0.6")
THEANO = ("lab-theano1", "lab-theano2")
HEALTHY = ("lab-ok", *THEANO)
# verify without the TensorFlow import and the MNIST model (~30 s a host on 2 shared cores).
VERIFY_ARGS = ["--only", "python_platform", "keras_json", "packages"]


@dataclass
class Lab:
    root: Path
    inventory: Path
    reports: Path
    runs: dict[str, PlayRun]
    unchanged_by_check: tuple[dict[str, tuple], dict[str, tuple]]
    fleet: subprocess.CompletedProcess[str]
    first_reports: dict[str, str]  # the reports folder after the first run
    unchanged_by_fresh_check: tuple[dict[str, tuple], dict[str, tuple]]

    def host(self, name: str) -> Path:
        return self.root / "hosts" / name

    def prefix(self, name: str) -> Path:
        base = self.host(name) / ("tiny" if name == "lab-disk" else "opt")
        return base / "kerasup" / "cpu"


def _host_vars(root: Path, name: str) -> dict[str, object]:
    host = root / "hosts" / name
    (host / "home").mkdir(parents=True, exist_ok=True)
    (host / "profile.d").mkdir(exist_ok=True)
    prefix_base = host / ("tiny" if name == "lab-disk" else "opt")
    return {
        "kerasup_prefix": str(prefix_base / "kerasup" / "cpu"),
        "kerasup_toolkit_dir": str(host / "toolkit"),
        "kerasup_jupyter_prefix": str(host / "jupyter"),
        # Each host's own /etc/profile.d: these hosts share this machine's /etc.
        "kerasup_profile_script": str(host / "profile.d" / "kerasup.sh"),
        "kerasup_environment": {
            "HOME": str(host / "home"),
            # This machine's warm uv cache and the pinned uv: installs take seconds.
            "UV_CACHE_DIR": subprocess.run([uv_bin(), "cache", "dir"], text=True,
                                           capture_output=True, check=True).stdout.strip(),
            "KERASUP_UV": uv_bin(),
        },
    }


def _inventory(root: Path, lab) -> Path:
    hosts = {name: {**lab.host_vars(address), **_host_vars(root, name)}
             for name, address in ADDRESSES.items()}
    hosts[DOWN[0]] = {**lab.host_vars(DOWN[1]), **_host_vars(root, DOWN[0])}
    common = {"kerasup_become": False, "kerasup_manage_system_packages": False,
              "kerasup_reports_dir": str(root / "reports"), "kerasup_verify_args": VERIFY_ARGS,
              # Behind a TLS-inspecting proxy this machine's CA bundle is what uv must trust.
              "kerasup_ca_file": os.environ.get("SSL_CERT_FILE", "")}
    path = root / "inventory.yml"
    path.write_text(yaml.safe_dump({"lab": {"hosts": hosts, "vars": common}}))
    return path


@contextlib.contextmanager
def _full_tmpfs(path: Path) -> Iterator[None]:
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], check=True)
    try:
        with (path / "fill").open("wb") as fill, contextlib.suppress(OSError):
            while True:
                fill.write(b"\0" * 65536)
                fill.flush()
        yield
    finally:
        subprocess.run(["umount", str(path)], check=False)


def _snapshot(*roots: Path) -> dict[str, tuple]:
    """Every file's size, mtime and mode (links: their target), to prove nothing changed."""
    seen: dict[str, tuple] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder, name)
                st = path.lstat()
                seen[str(path)] = (str(path.readlink()),) if path.is_symlink() else (
                    st.st_size, st.st_mtime_ns, st.st_mode)
    return seen


def _break_keras_json(home: Path) -> None:
    path = home / ".keras" / "keras.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"floatx": "float32", "epsilon": 1e-07, "backend": "theano",
                                "image_data_format": "channels_last"}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("fleet")
    control = Path(tempfile.mkdtemp(prefix="akcp-", dir="/tmp"))
    try:
        with _full_tmpfs(root / "hosts" / "lab-disk" / "tiny"), \
                ssh_lab(root / "sshd", list(ADDRESSES.values())) as sshd:
            inventory = _inventory(root, sshd)
            env = ansible_env(root, control, forks=5)
            fresh = _snapshot(root / "hosts")
            runs = {"check_fresh": run_playbook(inventory, env, "--check")}
            fresh_after = _snapshot(root / "hosts")
            runs["first"] = run_playbook(inventory, env)
            reports = root / "reports"
            first = {p.name: p.read_text() for p in reports.glob("*")} if reports.is_dir() else {}
            runs["second"] = run_playbook(inventory, env)
            for name in THEANO:
                _break_keras_json(root / "hosts" / name / "home")
            before = _snapshot(root / "hosts", root / "reports")
            runs["check"] = run_playbook(inventory, env, "--check")
            after = _snapshot(root / "hosts", root / "reports")
            runs["reverify"] = run_playbook(inventory, env, "--tags", "verify,report")
            out = root / "fleet"
            fleet = subprocess.run(
                [sys.executable, "-m", "verify.fleet", str(root / "reports"), "--inventory",
                 str(inventory), "--html", str(out / "fleet.html"), "--junit",
                 str(out / "fleet.xml"), "--json", str(out / "fleet.json")],
                cwd=REPO, text=True, capture_output=True, timeout=120)
            yield Lab(root, inventory, reports, runs, (before, after), fleet, first,
                      (fresh, fresh_after))
    finally:
        shutil.rmtree(control, ignore_errors=True)


def _explain(run: PlayRun) -> str:
    return f"ansible-playbook exited {run.rc} in {run.seconds:.0f}s:\n{run.output[-6000:]}"


def test_check_mode_on_new_hosts_changes_nothing_and_says_what_would(lab: Lab) -> None:
    before, after = lab.unchanged_by_fresh_check
    assert before == after  # no toolkit, prefix, kernel or keras.json appeared
    assert not any(Path(p).name == "toolkit" for p in after)
    run = lab.runs["check_fresh"]
    for name in (*HEALTHY, "lab-disk"):
        assert run.recap[name]["changed"] > 0 and run.recap[name]["failed"] == 0, _explain(run)


def test_first_run_installs_healthy_hosts_and_names_broken_ones(lab: Lab) -> None:
    run = lab.runs["first"]
    for name in HEALTHY:
        assert run.recap[name]["failed"] == 0 and run.recap[name]["unreachable"] == 0, \
            _explain(run)
        assert run.recap[name]["changed"] > 0, _explain(run)
        report = json.loads(lab.first_reports[f"{name}.json"])
        assert report["ok"] is True and report["machine"]["prefix"] == str(lab.prefix(name))
    assert run.recap["lab-disk"]["failed"] == 1, _explain(run)
    assert run.recap["lab-down"]["unreachable"] == 1, _explain(run)


def test_kernel_is_registered_for_the_environment(lab: Lab) -> None:
    spec = lab.host("lab-ok") / "jupyter" / "share" / "jupyter" / "kernels" / "kerasup-cpu"
    kernel = json.loads((spec / "kernel.json").read_text())
    python = lab.prefix("lab-ok") / "bin" / "python"
    code = "import sys; print(*sys.version_info[:2], sep='.')"
    version = subprocess.run([str(python), "-c", code], text=True, capture_output=True,
                             check=True).stdout.strip()
    assert kernel["argv"][0] == str(python)
    assert kernel["display_name"] == f"Python {version} (kerasup cpu)"


def test_full_disk_host_fails_with_the_disk_cause_and_nothing_half_installed(lab: Lab) -> None:
    record = lab.first_reports.get("lab-disk.setup-error.txt", "")
    assert "too little disk" in record, _explain(lab.runs["first"])
    assert not lab.prefix("lab-disk").exists()
    assert [p.name for p in (lab.host("lab-disk") / "tiny").iterdir()] == ["fill"]
    assert "lab-disk.json" not in lab.first_reports and not (lab.reports / "lab-disk.json").exists()


def test_second_run_changes_nothing(lab: Lab) -> None:
    run = lab.runs["second"]
    for name in (*HEALTHY, "lab-disk"):
        assert run.recap[name]["changed"] == 0, _explain(run)
    assert all(run.recap[name]["failed"] == 0 for name in HEALTHY), _explain(run)


def test_check_mode_changes_nothing_and_reports_the_would_be_repair(lab: Lab) -> None:
    before, after = lab.unchanged_by_check
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert not changed
    run = lab.runs["check"]
    # keras.json says theano there: the installer's plan would repair it.
    for name in THEANO:
        assert run.recap[name]["changed"] > 0 and run.recap[name]["failed"] == 0, _explain(run)
    assert run.recap["lab-ok"]["changed"] == 0, _explain(run)


def test_reverify_finds_theano_and_keeps_going(lab: Lab) -> None:
    run = lab.runs["reverify"]
    assert run.recap["lab-ok"]["failed"] == 0, _explain(run)
    for name in THEANO:
        assert run.recap[name]["failed"] == 1, _explain(run)
        report = json.loads((lab.reports / f"{name}.json").read_text())
        keras = next(c for c in report["checks"] if c["name"] == "keras_json")
        assert keras["status"] == "fail" and "theano" in keras["summary"]


def test_fleet_report_groups_broken_hosts_by_cause(lab: Lab) -> None:
    assert lab.fleet.returncode == 1, lab.fleet.stderr
    summary = json.loads((lab.root / "fleet" / "fleet.json").read_text())
    states = {h["host"]: h["state"] for h in summary["hosts"]}
    # The full-disk host's setup error is a failure with its cause and fix, not "no report".
    assert states == {"lab-ok": "ready", "lab-theano1": "failing", "lab-theano2": "failing",
                      "lab-disk": "failing", "lab-down": "no-report"}
    groups = {g["check"]: g for g in summary["failure_groups"]}
    group = groups.pop("keras_json")
    assert "theano" in group["cause"] and group["hosts"] == list(THEANO) and group["fix"]
    [disk] = groups.values()
    assert disk["check"].startswith("setup") and disk["hosts"] == ["lab-disk"]
    # its latest play's cause (here the re-verify run: no environment was ever made there)
    assert "lab-disk" in disk["cause"] and disk["fix"]
    suites = {s.get("name"): s for s in
              ET.parse(lab.root / "fleet" / "fleet.xml").getroot().findall("testsuite")}
    assert set(suites) == set(states)
    assert suites["lab-theano1"].get("failures") == "1"
    assert suites["lab-ok"].get("failures") == "0" and suites["lab-ok"].get("errors") == "0"
    assert suites["lab-down"].get("errors") == "1"
    page = (lab.root / "fleet" / "fleet.html").read_text()
    assert "<script" not in page and all(name in page for name in states)
    assert "2 hosts — keras_json" in lab.fleet.stdout
