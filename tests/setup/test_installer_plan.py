"""The plan setup computes (``--plan-json``), for every platform's branch, every backend and
every refusal: asserted on the plan's data and on the machine's state, not on prose."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from setup_helpers import (
    BOOTSTRAP,
    CPU_LOCK,
    REPO,
    bootstrap,
    clean_env,
    plan,
    run_cmd,
    toy_repo,
)

from envs.contract import facts, platforms
from envs.contract.errors import ExitCode
from envs.contract.fileio import file_sha256
from setup.installer import uvtool
from setup.installer.pythons import choose_python, find_pythons, probe_python
from setup.installer.target import Target

HOST = Target.current().platform
CONDA_LOCK = REPO / "envs" / "cpu" / "conda-lock.yml"
ENV_ACTIONS = ["create-env", "sync", "write-site-hook", "write-record", "keras-json",
               "register-kernel", "verify"]


def _command(p: dict, kind: str) -> list[str]:
    return next(a["command"] for a in p["actions"] if a["kind"] == kind)


def test_plan_for_this_machine(tmp_path):
    p = plan(tmp_path, "--prefix", str(tmp_path / "env"))
    assert p["schema_version"] == 1 and p["platform"] == HOST and not p["cross"]
    assert p["variant"] == "cpu" and p["backend"] == "uv-venv" and p["method"] == "uv"
    assert p["lock"] == str(CPU_LOCK) and p["lock_sha256"] == file_sha256(CPU_LOCK)
    assert p["prefix_kind"] == "new" and p["prefix_owner"] == "new" and not p["up_to_date"]
    assert [a["kind"] for a in p["actions"]] == ENV_ACTIONS
    assert _command(p, "sync")[1:5] == ["pip", "sync", "--require-hashes", "--python"]
    assert _command(p, "sync")[-1] == str(CPU_LOCK)
    assert p["python"]["version"] in facts.PYTHONS and p["python"]["source"] == "found"
    assert probe_python(p["python"]["executable"]).minor == p["python"]["version"]
    assert p["record"] == {"schema_version": 1, "variant": "cpu",
                           "python": p["python"]["version"], "platform": HOST,
                           "lock": str(CPU_LOCK.resolve()), "lock_sha256": file_sha256(CPU_LOCK),
                           "method": "uv", "toolkit_root": str(REPO), "source": None}
    assert p["keras_json"] == {"path": str(tmp_path / "keras-home" / "keras.json"),
                               "action": "created"}
    # the record is written before keras.json (a keras.json failure keeps the env recorded)
    kinds = [a["kind"] for a in p["actions"]]
    assert kinds.index("write-record") < kinds.index("keras-json")
    assert sorted(tmp_path.iterdir()) == []  # planning changed nothing


def test_windows_branch(tmp_path):
    p = plan(tmp_path, "--platform", "win-64", "--prefix", r"C:\envs\k", "--python", "3.11")
    assert p["platform"] == "win-64" and p["cross"]
    assert p["python"] == {"version": "3.11", "executable": None, "source": "target",
                           "note": None}
    assert p["env_python"] == r"C:\envs\k\Scripts\python.exe"
    assert p["site_packages"] == r"C:\envs\k\Lib\site-packages"
    assert p["lock"] == str(CPU_LOCK)  # the universal pip lock carries win_amd64 wheels
    assert [a["kind"] for a in p["actions"]] == ["ensure-uv", *ENV_ACTIONS]
    sync = _command(p, "sync")
    assert sync[0].endswith("uv.exe") and sync[-2] == r"C:\envs\k\Scripts\python.exe"
    assert _command(p, "verify")[0] == r"C:\envs\k\Scripts\python.exe"


@pytest.mark.parametrize("name", ["linux-aarch64", "osx-arm64"])
def test_other_posix_branches(tmp_path, name):
    p = plan(tmp_path, "--platform", name, "--prefix", "/e")
    assert p["env_python"] == "/e/bin/python"
    assert p["site_packages"] == f"/e/lib/python{facts.DEFAULT_PYTHON}/site-packages"
    assert _command(p, "verify")[:4] == ["/e/bin/python", "-I", "-m", "verify"]


def test_dry_run_and_check_change_nothing(tmp_path):
    tools = tmp_path / "tools"
    ran = bootstrap(tmp_path, "--dry-run", "--prefix", str(tmp_path / "env"),
                    KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert ran.returncode == 0, ran.stderr
    ran = bootstrap(tmp_path, "--check", "--prefix", str(tmp_path / "env"))
    assert ran.returncode == 0, ran.stderr
    assert "index reachable" in ran.stdout
    # --check probes the index through the proxy in effect: a dead one is one line, exit 3,
    # with its password masked
    ran = bootstrap(tmp_path, "--check", "--prefix", str(tmp_path / "env"),
                    HTTPS_PROXY="http://u:pw@127.0.0.1:9")
    assert ran.returncode == ExitCode.CANNOT_PROCEED, ran.stderr
    assert "pw@" not in ran.stdout + ran.stderr and "proxy" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == []
    p = plan(tmp_path, "--prefix", str(tmp_path / "env"), KERASUP_BOOTSTRAP_TOOLS=str(tools),
             HTTPS_PROXY="http://u:pw@proxy.example:3128")
    assert p["actions"][0]["kind"] == "ensure-uv" and p["tools"] == str(tools)
    assert p["reports"]["proxy"] == "HTTPS_PROXY=http://***@proxy.example:3128"
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "code"), [
    (["--platform", "osx-64", "--dry-run"], ExitCode.USAGE),
    (["--platform", "win-arm64", "--dry-run"], ExitCode.USAGE),
    (["--platform", "win-64", "--variant", "gpu", "--dry-run"], ExitCode.USAGE),
    (["--platform", "osx-arm64", "--variant", "gpu", "--dry-run"], ExitCode.USAGE),
    (["--platform", "linux-aarch64", "--variant", "gpu", "--dry-run"], ExitCode.USAGE),
    (["--platform", "win-64" if HOST != "win-64" else "osx-arm64"], ExitCode.USAGE),
    (["--platform", "solaris-sparc", "--dry-run"], ExitCode.USAGE),
    (["--variant", "tpu", "--dry-run"], ExitCode.USAGE),
    (["--python", "3.9", "--dry-run"], ExitCode.USAGE),
    (["--prefix", "", "--dry-run"], ExitCode.USAGE),
    (["--prefix", "  ", "--dry-run"], ExitCode.USAGE),
    (["--bogus"], ExitCode.USAGE),
    (["--dry-run"], ExitCode.USAGE),  # with KERASUP_MIN_FREE_GB=nan, below
])
def test_bad_input_is_one_line_with_a_fix(tmp_path, args, code):
    extra = {"KERASUP_MIN_FREE_GB": "nan"} if args == ["--dry-run"] else {}
    ran = bootstrap(tmp_path, *args, "--prefix", str(tmp_path / "e"), **extra) \
        if "--prefix" not in args else bootstrap(tmp_path, *args, **extra)
    assert ran.returncode == code, ran.stdout + ran.stderr
    assert len(ran.error_lines) == 1, ran.stderr
    assert ran.error_lines[0].startswith("kerasup: error: ") and "(fix: " in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(("variant", "name"), [(v, p) for v in facts.VARIANTS
                                               for p in platforms.PLATFORMS])
def test_refusals_are_the_contracts(tmp_path, variant, name):
    """A combination is refused exactly when the contract refuses it or the lock's header
    does not cover it; the refusal is the contract's reason and fix."""
    ran = bootstrap(tmp_path, "--plan-json", "--variant", variant, "--platform", name,
                    "--prefix", "/e")
    refused = platforms.refusal(variant, name)
    if refused:
        assert ran.returncode == ExitCode.USAGE
        assert refused.reason in ran.stderr and refused.fix in ran.stderr
    elif ran.returncode == 0:
        from envs.contract.lockheader import coverage

        assert name in coverage(REPO / "envs" / variant / "requirements.txt").platforms
    else:
        assert ran.returncode == ExitCode.USAGE and "does not support" in ran.stderr


def _toy_repo(tmp_path: Path, header: str | None, *, lock: bool = True) -> Path:
    """The installer with the real CPU lock's body under ``header``."""
    body = "".join(line for line in CPU_LOCK.read_text().splitlines(keepends=True)
                   if not line.startswith("# kerasup-"))
    return toy_repo(tmp_path, header=header, body=body, lock=lock)


@pytest.mark.parametrize(("header", "args", "code", "words"), [
    ("# kerasup-pythons: 3.11 3.12 3.13\n# kerasup-platforms: osx-arm64\n", [],
     ExitCode.USAGE, f"does not support {HOST}: it covers Python 3.11, 3.12, 3.13 on osx-arm64"),
    ("# kerasup-pythons: 3.11\n# kerasup-platforms: linux-64 win-64\n", ["--python", "3.12"],
     ExitCode.USAGE, "does not cover Python 3.12"),
    (None, [], ExitCode.CANNOT_PROCEED, "no kerasup header"),
])
def test_what_a_lock_covers_comes_from_its_header(tmp_path, header, args, code, words):
    root = _toy_repo(tmp_path, header)
    ran = run_cmd([sys.executable, str(root / "setup" / "bootstrap.py"), "--plan-json",
                   "--prefix", str(tmp_path / "e"), *args], clean_env(tmp_path))
    assert ran.returncode == code, ran.stderr
    assert words in ran.stderr and len(ran.error_lines) == 1


def test_missing_lock_says_how_to_make_it(tmp_path):
    root = _toy_repo(tmp_path, None, lock=False)
    ran = run_cmd([sys.executable, str(root / "setup" / "bootstrap.py"), "--dry-run",
                   "--prefix", str(tmp_path / "e")], clean_env(tmp_path))
    assert ran.returncode == ExitCode.CANNOT_PROCEED and "nox -s lock" in ran.stderr


def _stub_tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding placeholder programs of these names (never run: plans only)."""
    bindir = tmp_path / "stub-bin"
    bindir.mkdir()
    for name in names:
        (bindir / name).write_text("#!/bin/sh\nexit 99\n")
        (bindir / name).chmod(0o755)
    return f"{bindir}:/usr/bin:/bin"


def test_conda_backend_with_micromamba(tmp_path):
    if not CONDA_LOCK.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated yet")
    path = _stub_tools(tmp_path, "micromamba")
    prefix = tmp_path / "env"
    p = plan(tmp_path, "--conda", "--prefix", str(prefix), PATH=path)
    assert p["backend"] == "conda" and p["method"] == "conda" and p["lock"] == str(CONDA_LOCK)
    assert p["python"]["version"] == "3.12" and p["python"]["source"] == "conda-lock"
    assert _command(p, "create-env") == [str(tmp_path / "stub-bin" / "micromamba"), "create",
                                         "--yes", "--prefix", str(prefix), "--file",
                                         str(CONDA_LOCK)]
    assert p["env_python"] == str(prefix / "bin" / "python")
    win = plan(tmp_path, "--conda", "--platform", "win-64", "--prefix", r"C:\e", PATH=path)
    assert win["env_python"] == r"C:\e\python.exe"  # conda: python.exe at the top
    ran = bootstrap(tmp_path, "--conda", "--dry-run", "--python", "3.11", "--prefix",
                    str(prefix), PATH=path)
    assert ran.returncode == ExitCode.USAGE and "pins Python 3.12" in ran.stderr
    assert not prefix.exists()


def test_conda_backend_with_conda_lock_and_without_tools(tmp_path):
    if not CONDA_LOCK.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated yet")
    p = plan(tmp_path, "--conda", "--prefix", "/e", PATH=_stub_tools(tmp_path, "conda-lock",
                                                                      "conda"))
    stub = tmp_path / "stub-bin"
    assert _command(p, "create-env") == [str(stub / "conda-lock"), "install", "--conda",
                                         str(stub / "conda"), "--prefix", "/e", str(CONDA_LOCK)]
    (tmp_path / "x").mkdir()
    ran = bootstrap(tmp_path, "--conda", "--dry-run", "--prefix", "/e",
                    PATH=_stub_tools(tmp_path / "x", "conda-lock"))  # nothing to drive
    if shutil.which("micromamba", path="/usr/bin:/bin"):
        pytest.skip("micromamba is installed system-wide")
    assert ran.returncode == ExitCode.CANNOT_PROCEED and len(ran.error_lines) == 1


def test_gpu_variant_needs_more_disk_and_reports_the_driver(tmp_path):
    if HOST != "linux-64":
        pytest.skip("the gpu variant is linux-64 only")
    p = plan(tmp_path, "--variant", "gpu", "--prefix", str(tmp_path / "g"), PATH="/usr/bin:/bin")
    assert p["lock"] == str(REPO / "envs" / "gpu" / "requirements.txt")
    assert f"needs about {facts.variant('gpu').min_free_gb:g} GB" in p["reports"]["disk"]
    if not shutil.which("nvidia-smi", path="/usr/bin:/bin:/usr/lib/wsl/lib"):
        assert p["reports"]["driver"].startswith("warning: no NVIDIA driver answered")


def test_in_place_backend_plans_for_the_running_interpreter(tmp_path):
    p = plan(tmp_path, "--in-place", KERASUP_UV="/opt/uv")
    assert p["backend"] == "in-place" and p["prefix_kind"] == "interpreter"
    assert p["env_python"] == sys.executable and p["prefix"] == sys.prefix
    assert _command(p, "sync") == ["/opt/uv", "pip", "install", "--python", sys.executable,
                                   "--require-hashes", "-r", str(CPU_LOCK)]  # a venv: no --break
    ran = bootstrap(tmp_path, "--in-place", "--prefix", "/x", "--dry-run")
    assert ran.returncode == ExitCode.USAGE


def test_uses_another_installed_python_before_any_download(tmp_path):
    """No Python 3.12 anywhere: an installed supported one, said so (never a download)."""
    system = [p for p in ("/usr/bin/python3.11", "/usr/bin/python3.13") if Path(p).exists()]
    if not system or Path("/usr/bin/python3.12").exists():
        pytest.skip("needs a system Python 3.11 or 3.13 and no /usr/bin/python3.12")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no")}
    p = plan(tmp_path, "--prefix", str(tmp_path / "e"), UV_PYTHON_DOWNLOADS="automatic", **env)
    assert p["python"]["source"] == "found" and p["python"]["version"] != "3.12"
    assert "no download needed" in p["python"]["note"]
    ran = bootstrap(tmp_path, "--dry-run", "--python", "3.12", "--prefix",
                    str(tmp_path / "e"), **env)
    assert ran.returncode == ExitCode.CANNOT_PROCEED and len(ran.error_lines) == 1
    assert "python3.12-venv" in ran.stderr
    downloads = plan(tmp_path, "--python", "3.12", "--prefix", str(tmp_path / "e"),
                     UV_PYTHON_DOWNLOADS="automatic", **env)
    assert downloads["python"]["source"] == "uv-install"
    assert downloads["actions"][0]["kind"] == "install-python"
    assert _command(downloads, "create-env")[-2:] == ["3.12", str(tmp_path / "e")]


def test_other_python_version(tmp_path):
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    other = next(v for v in ("3.13", "3.11") if v != here)
    found = choose_python(find_pythons(Target.current(), clean_env(tmp_path)), other)
    if not found:
        pytest.skip(f"no Python {other} installed")
    p = plan(tmp_path, "--python", other, "--prefix", str(tmp_path / "e"))
    assert p["python"]["version"] == p["record"]["python"] == other
    assert probe_python(p["python"]["executable"]).minor == other


def test_kerasup_python_and_python_exe(tmp_path):
    p = plan(tmp_path, "--prefix", str(tmp_path / "e"), KERASUP_PYTHON=sys.executable)
    assert p["python"]["source"] == "KERASUP_PYTHON"
    assert Path(p["python"]["executable"]).resolve() == Path(sys.executable).resolve()
    bogus = tmp_path / "no-python"
    ran = bootstrap(tmp_path, "--dry-run", "--prefix", str(tmp_path / "e"),
                    KERASUP_PYTHON=str(bogus))
    assert ran.returncode == ExitCode.USAGE and f"KERASUP_PYTHON {bogus}" in ran.stderr
    py310 = Path.home() / ".pyenv/versions/3.10.13/bin/python3.10"
    if py310.exists():
        ran = bootstrap(tmp_path, "--dry-run", "--python-exe", str(py310))
        assert ran.returncode == ExitCode.USAGE and "--python-exe" in ran.stderr


def test_runs_on_python_3_10(tmp_path):
    """The system Python of Ubuntu 22.04 (3.10) must be able to run setup."""
    py310 = next((p for p in [*sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")),
                              shutil.which("python3.10")] if p and probe_python(p)), None)
    if not py310:
        pytest.skip("no Python 3.10 here")
    ran = bootstrap(tmp_path, "--platform", "win-64", "--plan-json", "--prefix", r"C:\e",
                    python=str(py310))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["env_python"] == r"C:\e\Scripts\python.exe"
    ran = bootstrap(tmp_path, "--dry-run", "--prefix", str(tmp_path / "e"), python=str(py310))
    assert ran.returncode == 0, ran.stderr


def test_find_dot_command(tmp_path):
    bindir = tmp_path / "Graphviz" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "dot.exe").write_text("")
    ran = bootstrap(tmp_path, "--find-dot", "--platform", "win-64", ProgramFiles=str(tmp_path),
                    PATH="/usr/bin:/bin")
    assert ran.returncode == 0 and ran.stdout.strip() == str(bindir)
    ran = bootstrap(tmp_path, "--find-dot", "--platform", "win-64", PATH="/nonexistent")
    assert ran.returncode == 1 and ran.stdout == ""


def test_help_lists_the_flags_and_variables():
    out = subprocess.run([sys.executable, str(BOOTSTRAP), "--help"], capture_output=True,
                         text=True, check=True).stdout
    for flag in ("--variant", "--python", "--python-exe", "--prefix", "--conda", "--dry-run",
                 "--check", "--yes", "--force", "--offline", "--no-verify", "--platform",
                 "--plan-json", "--replace-foreign", "--in-place", "--from-bundle",
                 "KERASUP_MIN_FREE_GB"):
        assert flag in out, flag
    assert "--find-dot" not in out  # internal: verify and the shell entry points ask it


def test_tools_requirements_pin_uv_with_uv_lock_hashes():
    import re

    version = uvtool.pinned_version()
    text = uvtool.TOOLS_REQUIREMENTS.read_text()
    assert f"uv=={version} " in text
    block = (REPO / "uv.lock").read_text().split(f'name = "uv"\nversion = "{version}"')[1]
    block = block.split("[[package]]")[0]
    assert set(re.findall(r"sha256:[0-9a-f]{64}", block)) == \
        set(re.findall(r"sha256:[0-9a-f]{64}", text))


@pytest.mark.parametrize(("existing", "action"), [
    (None, "created"),
    ('{"backend": "jax", "floatx": "float16", "mine": 1}', "updated"),
    ("{not json", "updated"),
    ('{"backend": "tensorflow", "floatx": "float32", "epsilon": 1e-07, '
     '"image_data_format": "channels_last", "custom": true}', "unchanged"),
])
def test_keras_json_in_the_plan(tmp_path, existing, action):
    home = tmp_path / "kh"
    if existing is not None:
        home.mkdir()
        (home / "keras.json").write_text(existing)
    p = plan(tmp_path, "--prefix", str(tmp_path / "e"), KERAS_HOME=str(home))
    assert p["keras_json"] == {"path": str(home / "keras.json"), "action": action}
    assert ("keras-json" in [a["kind"] for a in p["actions"]]) == (action != "unchanged")
    if existing is not None:
        assert (home / "keras.json").read_text() == existing  # planning wrote nothing
    env = clean_env(tmp_path, HOME=str(tmp_path / "home"))
    del env["KERAS_HOME"]  # Keras' own rule: ~/.keras
    (tmp_path / "home").mkdir(exist_ok=True)
    ran = run_cmd([sys.executable, str(BOOTSTRAP), "--plan-json", "--prefix",
                   str(tmp_path / "e")], env)
    assert json.loads(ran.stdout)["keras_json"]["path"] == str(tmp_path / "home" / ".keras" /
                                                               "keras.json")


def test_an_unreadable_record_means_rebuild(tmp_path):
    prefix = tmp_path / "e"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    share = prefix / "share" / "kerasup"
    share.mkdir(parents=True)
    (share / "created-by-kerasup").write_text("x")
    (share / "install.json").write_text("{half")
    p = plan(tmp_path, "--prefix", str(prefix))
    assert p["prefix_owner"] == "kerasup" and not p["existing_record"] and not p["up_to_date"]
    assert "not valid JSON" in p["reports"]["record"]
    assert [a["kind"] for a in p["actions"]][:3] == ["clear-env", "create-env", "sync"]
