"""The real playbook (setup/ansible/site.yml) over real SSH against a lab of loopback hosts.

Each host is its own sshd in its own mount and UTS namespaces (tests/fleet/sshlab.py): its
own host name, /etc, /usr/local, /root, /home and /opt, so the role runs with its defaults
(/opt/kerasup, /usr/local kernels, /etc/profile.d) as on real lab machines.

    lab-ok       healthy: ends ready. The machine calls itself pc01 (an inventory alias), its
                 admin's umask is 000, and it installs from the suite's shared offline
                 bundle (kerasup_source=bundle, pinned) with the Python the bundle is for
    lab-theano1  installed fine, then root's keras.json names theano: the re-verify
    lab-theano2  (--tags verify,report) finds it, and the fleet report groups the two.
                 On lab-theano1 the admin's umask is 077 and a student (whose own keras.json
                 names theano too) logs in and uses the environment
    lab-disk     its /opt is a 64 MiB tmpfs: fails with the disk message, nothing is
                 half-installed
    lab-down     unreachable
    lab-new      a new bundle host, only ever run in check mode

Runs, in order: first run; second run (changed=0); --check after breaking keras.json
(nothing changes, neither on the broken host, where the would-be repair is reported, nor on
the new one, where the first run is); --tags verify,report; the fleet report. Each run is
limited (--limit, labplay.PLAYS) to the hosts that take a path of their own there: the second
run to lab-ok (bundle), lab-theano1 (checkout, schedule, umask 077) and lab-disk; the check to
lab-new, lab-ok and lab-theano1; lab-theano2 (lab-theano1 without the extras) is installed by
the first run and re-verified with lab-theano1, as the second host of their group. (One check
run on a new and on installed hosts at once replaces a check run on new hosts before the
first: a host the first run did not touch is new.) The inventory and the reports sit inside
setup/ansible/, as the README has them, and must not travel.
"""

from __future__ import annotations

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

from envs.contract.fileio import file_sha256
from envs.lock.pip_lock import uv_bin
from tests.fleet.labplay import (
    ADDRESSES,
    BUNDLE_HOST,
    BUNDLE_HOSTS,
    BUNDLE_ON_HOST,
    HEALTHY,
    NEW,
    NODES,
    PLAYS,
    PREFIX,
    SECRET,
    STUDENT,
    STUDENT_RUNS,
    THEANO,
    LabBundle,
    add_student,
    folder_in_ansible_dir,
    lab_bundle,
    play_all,
    write_inventory,
)
from tests.fleet.sshlab import (
    REPO,
    SSHD,
    LabHost,
    PlayRun,
    ansible_env,
    lab_hosts,
    make_keys,
    playbook_bin,
)
from tests.realfs import tmpfs

pytestmark = [
    pytest.mark.slow, pytest.mark.fleet,
    pytest.mark.skipif(not SSHD.exists(), reason="needs Debian's openssh-server (/usr/sbin/sshd)"),
    pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                       reason="needs root: sshd root login, namespaces, mounts"),
    pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("nsenter")),
                       reason="needs unshare and nsenter (util-linux)"),
    pytest.mark.skipif(playbook_bin() is None, reason="needs ansible-core in this venv"),
]

@dataclass
class Lab:
    root: Path
    hosts: dict[str, LabHost]
    inventory: Path
    reports: Path
    runs: dict[str, PlayRun]
    unchanged_by_check: tuple[dict[str, tuple], dict[str, tuple]]
    fleet: subprocess.CompletedProcess[str]
    first_reports: dict[str, str]  # the reports folder after the first run
    students: dict[str, subprocess.CompletedProcess[str]]  # what the student ran, by command
    bundle: LabBundle


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, linux_bundle) -> Iterator[Lab]:
    bundle = lab_bundle(linux_bundle)
    if bundle is None:
        pytest.skip("needs the Python the shared linux bundle is for (3.12)")
    root = tmp_path_factory.mktemp("fleet")
    control = Path(tempfile.mkdtemp(prefix="akcp-", dir="/tmp"))
    cache = Path(subprocess.run([uv_bin(), "cache", "dir"], text=True, capture_output=True,
                                check=True).stdout.strip())
    specs = [(name, address, root / "hosts" / name,
              {"cache": cache, "opt": root / "hosts" / name / "small-opt"
               if name == "lab-disk" else None,
               "python": bundle.python_prefix if name in BUNDLE_HOSTS else None})
             for name, address in ADDRESSES.items()]
    specs = [(NODES.get(name, name), address, folder, options)
             for name, address, folder, options in specs]
    keys = make_keys(root / "keys", list(ADDRESSES.values()))
    try:
        with folder_in_ansible_dir() as folder, \
                tmpfs(root / "hosts" / "lab-disk" / "small-opt", "size=64m,mode=0755"), \
                lab_hosts(keys, specs) as nodes:
            hosts = {name: nodes[NODES.get(name, name)] for name in ADDRESSES}
            inventory = write_inventory(root, folder, keys, bundle)
            add_student(hosts[STUDENT[0]], STUDENT[1])
            env = ansible_env(root, control, forks=5)
            runs, first, check = play_all(root, hosts, inventory, env)
            students = {what: hosts[STUDENT[0]].run(command, user=STUDENT[1])
                        for what, command in STUDENT_RUNS.items()}
            out = root / "fleet"
            fleet = subprocess.run(
                [sys.executable, "-m", "verify.fleet", str(folder / "reports"), "--inventory",
                 str(inventory), "--html", str(out / "fleet.html"), "--junit",
                 str(out / "fleet.xml"), "--json", str(out / "fleet.json")],
                cwd=REPO, text=True, capture_output=True, timeout=120)
            yield Lab(root, hosts, inventory, folder / "reports", runs, check, fleet, first,
                      students, bundle)
    finally:
        shutil.rmtree(control, ignore_errors=True)


def _explain(run: PlayRun) -> str:
    return f"ansible-playbook exited {run.rc} in {run.seconds:.0f}s:\n{run.output[-6000:]}"


def test_check_mode_on_new_hosts_changes_nothing_and_says_what_would(lab: Lab) -> None:
    new = str(lab.hosts[NEW].root) + os.sep
    before, after = ({p: v for p, v in seen.items() if p.startswith(new)}
                     for seen in lab.unchanged_by_check)
    assert before == after  # no toolkit, prefix, kernel or keras.json appeared
    assert not any(Path(p).name == "toolkit" for p in after)
    run = lab.runs["check"]
    assert run.recap[NEW]["changed"] > 0 and run.recap[NEW]["failed"] == 0, _explain(run)
    # the new host's check run said what the first run would do: copy both, then install
    said = (f"changed: [{NEW}] => \n    msg: would copy the toolkit to /opt/kerasup/toolkit and"
            f" the bundle to {BUNDLE_ON_HOST}")
    assert said in run.output, _explain(run)
    assert lab.hosts[NEW].run("test -e /opt/kerasup").returncode == 1


def test_first_run_installs_healthy_hosts_and_names_broken_ones(lab: Lab) -> None:
    run = lab.runs["first"]
    for name in HEALTHY:
        assert run.recap[name]["failed"] == 0 and run.recap[name]["unreachable"] == 0, \
            _explain(run)
        assert run.recap[name]["changed"] > 0, _explain(run)
        report = json.loads(lab.first_reports[f"{name}.json"])
        assert report["ok"] is True and report["machine"]["prefix"] == PREFIX
        # each machine's own name, read by the play and kept beside its report
        record = lab.first_reports[f"{name}.play.txt"]
        assert report["machine"]["host"] == NODES.get(name, name)
        assert f"node: {NODES.get(name, name)}\n" in record
        assert "first_after_install: yes" in record
    assert run.recap["lab-disk"]["failed"] == 1, _explain(run)
    assert run.recap["lab-down"]["unreachable"] == 1, _explain(run)
    assert "first_after_install: no" in (lab.reports / "lab-ok.play.txt").read_text()


def test_each_host_has_its_own_filesystem(lab: Lab) -> None:
    """What the role made on one host is on that host only."""
    ok, other = lab.hosts["lab-ok"], lab.hosts["lab-theano2"]
    assert (ok.upper("etc") / "profile.d" / "kerasup.sh").is_file()
    assert ok.run("test -x /opt/kerasup/cpu/bin/python").returncode == 0
    assert lab.hosts["lab-disk"].run("test -e /opt/kerasup/cpu").returncode == 1
    assert ok.run("id wtlab-student").returncode != 0
    assert lab.hosts["lab-theano1"].run("id wtlab-student").returncode == 0
    assert other.run("cat ~/.keras/keras.json").stdout != ok.run(
        "cat ~/.keras/keras.json 2>/dev/null").stdout


def test_the_bundle_host_installed_from_its_copy_of_the_bundle(lab: Lab) -> None:
    """kerasup_source=bundle: the archive sits root-only on the host, byte for byte, and the
    install record names it as the source (--from-bundle, pinned); the first run installed,
    and its verify passed (the fleet report's test finds it ready, the second run unchanged)."""
    host = lab.hosts[BUNDLE_HOST]
    found = host.run(f"stat -c '%a %u' {BUNDLE_ON_HOST} $(dirname {BUNDLE_ON_HOST}) && "
                     f"sha256sum {BUNDLE_ON_HOST}")
    mode_file, mode_dir, digest = found.stdout.splitlines()
    assert (mode_file, mode_dir) == ("600 0", "700 0"), found
    assert digest.split()[0] == file_sha256(lab.bundle.archive)
    record = json.loads(host.run(f"cat {PREFIX}/share/kerasup/install.json").stdout)
    assert record["source"].startswith(f"bundle:{BUNDLE_ON_HOST} "), record["source"]
    assert lab.bundle.sha256[:12] in record["source"]
    # the environment is for the bundle's Python; its toolkit is the role's copy of the checkout
    assert record["python"] == lab.bundle.python.name.removeprefix("python")
    assert record["toolkit_root"] == f"{PREFIX}/share/kerasup/toolkit"
    report = json.loads(lab.first_reports[f"{BUNDLE_HOST}.json"])
    assert report["ok"] is True


def test_kernel_is_registered_for_the_environment(lab: Lab) -> None:
    host = lab.hosts["lab-ok"]
    spec = host.upper("usr-local") / "share" / "jupyter" / "kernels" / "kerasup-cpu"
    kernel = json.loads((spec / "kernel.json").read_text())
    code = "import sys; print(*sys.version_info[:2], sep='.')"
    version = host.run(f'{PREFIX}/bin/python -c "{code}"').stdout.strip()
    assert kernel["argv"][0] == f"{PREFIX}/bin/python"
    assert kernel["display_name"] == f"Python {version} (kerasup cpu)"


def _loose(top: Path) -> list[str]:
    """Entries below ``top`` (links aside) that group or others may write, or not root's."""
    return [f"{oct(st.st_mode)} {st.st_uid} {path}" for path in [top, *top.rglob("*")]
            if not path.is_symlink() and ((st := path.lstat()).st_mode & 0o022 or st.st_uid)]


def test_nothing_the_role_made_is_writable_by_others_whatever_the_admins_umask(lab: Lab) -> None:
    """umask 000 on lab-ok, 077 on lab-theano1: everything created on the host (the upper
    layers of its /etc and /usr/local, and /opt/kerasup: the toolkit, the environment, the
    kernel, the login script) is root's and not group- or world-writable."""
    for name in ("lab-ok", "lab-theano1"):
        host = lab.hosts[name]
        assert (host.upper("usr-local") / "share" / "jupyter" / "kernels").is_dir()
        loose = [line for what in ("etc", "usr-local") for line in _loose(host.upper(what))]
        loose += _loose(host.upper("opt") / "kerasup")
        assert not loose, (name, len(loose), loose[:20])


def test_a_student_uses_the_environment_under_an_admin_umask_of_077(lab: Lab) -> None:
    which, kernels, ran = (lab.students[k] for k in ("which", "kernels", "verify"))
    assert which.stdout.split() == [f"{PREFIX}/bin/python", f"{PREFIX}/bin/jupyter"], which
    assert "/usr/local/share/jupyter/kernels/kerasup-cpu" in kernels.stdout, kernels
    assert "Traceback" not in ran.stderr and ran.stdout.startswith("rc="), ran
    report = json.loads(ran.stdout.split("\n", 1)[1])
    checks = {c["name"]: c for c in report["checks"]}
    # every package of the environment is readable to the student
    assert checks["packages"]["status"] == "pass", checks["packages"]
    assert checks["python_platform"]["status"] == "pass"
    assert "theano" in checks["keras_json"]["summary"] and checks["keras_json"]["fix"]


def test_the_schedules_secret_is_root_only(lab: Lab) -> None:
    host = lab.hosts[STUDENT[0]]
    cron = host.upper("etc") / "cron.d" / "kerasup-reverify-cpu"
    secret = host.upper("etc") / "kerasup" / "reverify-cpu.env"
    assert cron.is_file() and SECRET[1] not in cron.read_text()
    assert f"{SECRET[0]}={SECRET[1]}" in secret.read_text()
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.stat().st_uid == 0
    found = lab.students["secret"]
    # grep named no file (it exits 2, not 1, as it also met files it may not read)
    assert found.stdout.strip().splitlines() in (["rc=1"], ["rc=2"]), found
    assert "reverify-cpu.env: Permission denied" in found.stderr or \
        "/etc/kerasup: Permission denied" in found.stderr, found


def test_full_disk_host_fails_with_the_disk_cause_and_nothing_half_installed(lab: Lab) -> None:
    record = lab.first_reports.get("lab-disk.setup-error.txt", "")
    assert "too little disk" in record, _explain(lab.runs["first"])
    small = lab.hosts["lab-disk"].root / "small-opt"
    assert [p.name for p in small.iterdir()] == ["kerasup"]
    assert [p.name for p in (small / "kerasup").iterdir()] == ["toolkit"]
    assert "lab-disk.json" not in lab.first_reports and not (lab.reports / "lab-disk.json").exists()


def test_second_run_changes_nothing_and_the_admins_files_stay_home(lab: Lab) -> None:
    run = lab.runs["second"]
    assert set(run.recap) == set(PLAYS["second"]), _explain(run)
    for name in PLAYS["second"]:
        assert run.recap[name]["changed"] == 0, _explain(run)
    assert all(run.recap[name]["failed"] == 0 for name in HEALTHY if name in run.recap), \
        _explain(run)
    assert run.recap["lab-disk"]["failed"] == 1, _explain(run)  # the same disk failure
    # the inventory and reports inside setup/ansible/ never reach a host
    for name in (*HEALTHY, "lab-disk"):
        found = lab.hosts[name].run(
            "find /opt/kerasup \\( -name 'inventory*.ini' -o -name 'inventory*.yml' -o -name "
            "'reports' -o -name 'lab-test-*' -o -name '*.setup-error.txt' -o -name '*.play.txt'"
            " -o -name 'group_vars' -o -name 'site.yml' -o -name 'ansible' \\) -print")
        assert found.returncode == 0 and found.stdout == "", (name, found.stdout)


def test_check_mode_changes_nothing_and_reports_the_would_be_repair(lab: Lab) -> None:
    before, after = lab.unchanged_by_check
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert not changed
    run = lab.runs["check"]
    assert set(run.recap) == set(PLAYS["check"]), _explain(run)
    # keras.json says theano there: the installer's plan would repair it.
    for name in set(THEANO) & set(PLAYS["check"]):
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
    # lab-ok is pc01 to itself: the play recorded that, so its report counts.
    # The full-disk host's setup error is a failure with its cause and fix, not "no report".
    assert states == {"lab-ok": "ready", "lab-theano1": "failing", "lab-theano2": "failing",
                      "lab-disk": "failing", "lab-down": "no-report", NEW: "no-report"}
    groups = {g["check"]: g for g in summary["failure_groups"]}
    group = groups.pop("keras_json")
    assert "theano" in group["cause"] and group["hosts"] == list(THEANO) and group["fix"]
    [disk] = groups.values()
    assert disk["check"].startswith("setup") and disk["hosts"] == ["lab-disk"]
    # the cause that explains the host's state (the re-verify play found no environment
    # there because setup had stopped for the disk), with its fix
    assert "too little disk" in disk["cause"] and disk["fix"], disk
    suites = {s.get("name"): s for s in
              ET.parse(lab.root / "fleet" / "fleet.xml").getroot().findall("testsuite")}
    assert set(suites) == set(states)
    assert suites["lab-theano1"].get("failures") == "1"
    assert suites["lab-ok"].get("failures") == "0" and suites["lab-ok"].get("errors") == "0"
    assert suites["lab-down"].get("errors") == "1"
    page = (lab.root / "fleet" / "fleet.html").read_text()
    assert "<script" not in page and all(name in page for name in states)
    assert "2 hosts — keras_json" in lab.fleet.stdout


def test_a_report_copied_from_another_host_is_not_ready(lab: Lab, tmp_path: Path) -> None:
    """lab-theano2's fetched report replaced by pc01's (lab-ok's): the play's record of
    lab-theano2's own name gives it away."""
    from verify.fleet.__main__ import main

    reports = tmp_path / "reports"
    shutil.copytree(lab.reports, reports)
    shutil.copy(reports / "lab-ok.json", reports / "lab-theano2.json")
    assert main([str(reports), "--json", str(tmp_path / "fleet.json")]) == 1
    hosts = {h["host"]: h for h in json.loads((tmp_path / "fleet.json").read_text())["hosts"]}
    assert hosts["lab-ok"]["state"] == "ready"
    assert hosts["lab-theano2"]["state"] == "invalid"
    assert "made on host 'pc01', but lab-theano2 is 'lab-theano2'" in hosts["lab-theano2"][
        "reasons"][0]
