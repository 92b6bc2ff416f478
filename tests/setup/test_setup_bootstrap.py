"""setup/bootstrap.py: every platform's branch (linux-64, linux-aarch64, osx-arm64, win-64),
lock selection, refusals, files it writes, and its command line."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from setup_helpers import BOOTSTRAP, REPO, bootstrap, clean_env, run_cmd

Target = bootstrap.Target
PLATFORMS = ["linux-64", "linux-aarch64", "osx-arm64", "win-64"]
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"


# --------------------------------------------------------------------------- targets


def test_current_target_is_this_machine():
    here = Target.current()
    assert here.os == ("win32" if os.name == "nt" else sys.platform)
    if sys.platform == "linux" and os.uname().machine == "x86_64":
        assert here.platform == "linux-64"


@pytest.mark.parametrize("name", [*PLATFORMS, "osx-64"])
def test_platform_names_round_trip(name):
    assert Target.from_platform(name).platform == name


@pytest.mark.parametrize(("osname", "machine", "platform"), [
    ("linux", "x86_64", "linux-64"), ("linux", "aarch64", "linux-aarch64"),
    ("linux", "arm64", "linux-aarch64"), ("darwin", "arm64", "osx-arm64"),
    ("darwin", "x86_64", "osx-64"), ("win32", "AMD64", "win-64"),
])
def test_machine_names_are_normalised(osname, machine, platform):
    target = Target(osname, bootstrap._normalise_machine(machine, osname))
    assert target.platform == platform


def test_unknown_platform_is_refused():
    with pytest.raises(bootstrap.UsageError, match="unknown platform"):
        Target.from_platform("solaris-sparc")


@pytest.mark.parametrize("name", ["linux-64", "linux-aarch64", "osx-arm64"])
def test_posix_paths(name):
    t = Target.from_platform(name)
    assert str(t.venv_python("/envs/k")) == "/envs/k/bin/python"
    assert str(t.conda_python("/envs/k")) == "/envs/k/bin/python"
    assert str(t.site_packages("/envs/k", "3.12")) == "/envs/k/lib/python3.12/site-packages"
    assert [str(d) for d in t.env_bin_dirs("/envs/k", conda=True)] == ["/envs/k/bin"]
    assert t.pathsep == ":" and t.exe_suffix == ""
    assert t.activate_command("/envs/k", "uv") == "source /envs/k/bin/activate"


def test_windows_paths_use_scripts_and_python_exe():
    t = Target.from_platform("win-64")
    assert t.is_windows and t.pathsep == ";" and t.exe_suffix == ".exe"
    assert t.venv_python(r"C:\envs\k") == PureWindowsPath(r"C:\envs\k\Scripts\python.exe")
    assert str(t.venv_python(r"C:\envs\k")) == r"C:\envs\k\Scripts\python.exe"
    # a conda environment keeps python.exe at its top and dot in Library\bin
    assert str(t.conda_python(r"C:\envs\k")) == r"C:\envs\k\python.exe"
    assert [str(d) for d in t.env_bin_dirs(r"C:\envs\k", conda=True)] == [
        r"C:\envs\k", r"C:\envs\k\Library\bin", r"C:\envs\k\Scripts"]
    assert str(t.site_packages(r"C:\envs\k", "3.12")) == r"C:\envs\k\Lib\site-packages"
    assert t.activate_command(r"C:\envs\k", "uv") == r"C:\envs\k\Scripts\Activate.ps1"


def test_posix_target_paths_stay_posix_on_any_host():
    t = Target.from_platform("osx-arm64")
    assert isinstance(t.venv_python("/x"), (Path, PurePosixPath))
    assert "\\" not in str(t.venv_python("/x"))


# --------------------------------------------------------------------------- locks


def test_supported_platforms_come_from_environment_yml():
    assert bootstrap.supported_platforms("cpu", REPO) == tuple(PLATFORMS)
    assert bootstrap.supported_platforms("gpu", REPO) == ("linux-64",)


@pytest.mark.parametrize("name", PLATFORMS)
def test_cpu_lock_is_the_universal_pip_lock_on_every_platform(name):
    lock = bootstrap.select_lock("cpu", Target.from_platform(name), REPO)
    assert lock == CPU_LOCK


def test_universal_lock_has_win_amd64_wheels():
    """The lock chosen for win-64 really carries the Windows TensorFlow (tensorflow-cpu)."""
    text = CPU_LOCK.read_text()
    assert re.search(r"^tensorflow-cpu==\S+ ;.*sys_platform == 'win32'", text, re.MULTILINE)


def _fake_repo(tmp_path: Path, locks: dict[str, str]) -> Path:
    for variant in ("cpu", "gpu"):
        d = tmp_path / "envs" / variant
        d.mkdir(parents=True)
        shutil.copy(REPO / "envs" / variant / "environment.yml", d / "environment.yml")
    for rel, text in locks.items():
        (tmp_path / "envs" / rel).write_text(text)
    return tmp_path


def test_gpu_and_conda_locks(tmp_path):
    repo = _fake_repo(tmp_path, {"gpu/requirements.txt": "x\n", "cpu/conda-lock.yml": "y\n"})
    linux = Target.from_platform("linux-64")
    assert bootstrap.select_lock("gpu", linux, repo) == repo / "envs/gpu/requirements.txt"
    assert bootstrap.select_lock("cpu", Target.from_platform("win-64"), repo, "conda") == \
        repo / "envs/cpu/conda-lock.yml"


def test_missing_lock_says_how_to_make_it(tmp_path):
    repo = _fake_repo(tmp_path, {})
    with pytest.raises(bootstrap.SetupError, match="not found") as info:
        bootstrap.select_lock("cpu", Target.from_platform("linux-64"), repo)
    assert "nox -s lock" in info.value.one_line()


@pytest.mark.parametrize(("variant", "name", "words"), [
    ("cpu", "osx-64", "Intel Macs"),
    ("gpu", "osx-64", "Intel Macs"),
    ("gpu", "win-64", "2.10"),
    ("gpu", "osx-arm64", "CUDA"),
    ("gpu", "linux-aarch64", "does not support linux-aarch64"),
    ("nope", "linux-64", "unknown variant"),
])
def test_unsupported_combinations_are_refused(variant, name, words):
    with pytest.raises(bootstrap.UsageError, match=re.escape(words)) as info:
        bootstrap.select_lock(variant, Target.from_platform(name), REPO)
    assert "\n" not in info.value.one_line()


def test_windows_gpu_refusal_points_to_wsl2():
    with pytest.raises(bootstrap.UsageError) as info:
        bootstrap.check_supported("gpu", Target.from_platform("win-64"), REPO)
    assert "WSL2" in info.value.one_line() and "ubuntu.sh --variant gpu" in info.value.one_line()


def test_conda_lock_python(tmp_path):
    lock = tmp_path / "conda-lock.yml"
    lock.write_text("version: 1\npackage:\n"
                    "  - name: python\n    version: 3.12.7\n    manager: conda\n"
                    "    platform: linux-64\n"
                    "  - name: python\n    version: 3.12.7\n    manager: conda\n"
                    "    platform: win-64\n")
    assert bootstrap.conda_lock_python(lock, Target.from_platform("win-64")) == "3.12"
    assert bootstrap.conda_lock_python(lock, Target.from_platform("osx-arm64")) is None


# --------------------------------------------------------------------------- dot and PATH


def test_find_dot_windows_program_files(tmp_path):
    bindir = tmp_path / "Program Files" / "Graphviz" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "dot.exe").write_text("")
    environ = {"PATH": "", "ProgramFiles": str(tmp_path / "Program Files")}
    assert bootstrap.find_dot(Target.from_platform("win-64"), environ) == bindir
    # dot (no .exe) is not what Windows runs
    (bindir / "dot.exe").unlink()
    (bindir / "dot").write_text("")
    assert bootstrap.find_dot(Target.from_platform("win-64"), environ) is None


def test_find_dot_windows_user_and_choco_installs(tmp_path):
    local = tmp_path / "Local" / "Programs" / "Graphviz" / "bin"
    choco = tmp_path / "choco" / "bin"
    for d in (local, choco):
        d.mkdir(parents=True)
    (choco / "dot.exe").write_text("")
    win = Target.from_platform("win-64")
    environ = {"LOCALAPPDATA": str(tmp_path / "Local"),
               "ChocolateyInstall": str(tmp_path / "choco")}
    assert bootstrap.find_dot(win, environ) == choco
    (local / "dot.exe").write_text("")
    assert bootstrap.find_dot(win, environ) == local


def test_find_dot_prefers_the_conda_environment_library_bin(tmp_path):
    env = tmp_path / "env"
    (env / "Library" / "bin").mkdir(parents=True)
    (env / "Library" / "bin" / "dot.exe").write_text("")
    other = tmp_path / "other"
    other.mkdir()
    (other / "dot.exe").write_text("")
    win = Target.from_platform("win-64")
    found = bootstrap.find_dot(win, {"PATH": str(other)}, env_prefix=env, conda=True)
    assert found == env / "Library" / "bin"


def test_find_dot_on_path_for_posix(tmp_path):
    (tmp_path / "dot").write_text("")
    environ = {"PATH": f"/nonexistent:{tmp_path}"}
    assert bootstrap.find_dot(Target.from_platform("linux-64"), environ) == tmp_path


def test_path_with_windows_separator_and_case():
    win = Target.from_platform("win-64")
    path = r"C:\Windows;c:\program files\graphviz\bin\;C:\Tools"
    out = bootstrap.path_with([r"C:\Program Files\Graphviz\bin"], path, win)
    assert out == r"C:\Program Files\Graphviz\bin;C:\Windows;C:\Tools"


def test_path_with_posix():
    linux = Target.from_platform("linux-64")
    assert bootstrap.path_with(["/env/bin", "/usr/bin"], "/usr/bin:/bin:/env/bin", linux) == \
        "/env/bin:/usr/bin:/bin"


# --------------------------------------------------------------------------- files


def test_keras_json_created_with_defaults(tmp_path):
    path = tmp_path / "kh" / "keras.json"
    assert bootstrap.write_keras_json(path) == ("created", None)
    assert json.loads(path.read_text()) == bootstrap.KERAS_DEFAULTS


def test_keras_json_other_backend_backed_up_and_keys_kept(tmp_path):
    path = tmp_path / "keras.json"
    old = {"backend": "jax", "floatx": "float16", "mine": 1}
    path.write_text(json.dumps(old))
    what, backup = bootstrap.write_keras_json(path)
    assert what == "updated" and backup is not None
    assert json.loads(backup.read_text()) == old
    new = json.loads(path.read_text())
    assert new["backend"] == "tensorflow" and new["floatx"] == "float16" and new["mine"] == 1
    assert not list(tmp_path.glob(".keras.json.*.tmp"))


def test_keras_json_right_backend_is_left_alone(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text('{"backend": "tensorflow", "custom": true}')
    before = path.stat().st_mtime_ns
    assert bootstrap.write_keras_json(path) == ("unchanged", None)
    assert path.stat().st_mtime_ns == before and list(tmp_path.iterdir()) == [path]


def test_keras_json_unreadable_is_replaced_after_backup(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text("{not json")
    what, backup = bootstrap.write_keras_json(path)
    assert what == "updated" and backup.read_text() == "{not json"
    assert json.loads(path.read_text())["backend"] == "tensorflow"


def test_keras_json_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "keras.json"
    path.write_text('{"backend": "torch"}')
    assert bootstrap.write_keras_json(path, dry_run=True)[0] == "updated"
    assert path.read_text() == '{"backend": "torch"}' and len(list(tmp_path.iterdir())) == 1


def test_keras_json_path_honours_keras_home(tmp_path):
    assert bootstrap.keras_json_path({"KERAS_HOME": str(tmp_path)}) == tmp_path / "keras.json"
    assert bootstrap.keras_json_path({"HOME": str(tmp_path)}) == tmp_path / ".keras" / "keras.json"


def test_install_record_round_trip(tmp_path):
    linux = Target.from_platform("linux-64")
    record = bootstrap.make_install_record("cpu", "3.12", linux, CPU_LOCK, "uv", REPO)
    assert set(record) == {"schema_version", "variant", "python", "platform", "lock",
                           "lock_sha256", "method", "toolkit_root", "created"}
    assert record["schema_version"] == 1 and record["platform"] == "linux-64"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created"])
    path = bootstrap.write_install_record(tmp_path, record)
    assert path == tmp_path / "share" / "kerasup" / "install.json"
    again = bootstrap.read_install_record(tmp_path)
    assert again == record
    later = bootstrap.make_install_record("cpu", "3.12", linux, CPU_LOCK, "uv", REPO,
                                          created="2030-01-01T00:00:00Z")
    assert bootstrap.record_matches(again, later)
    assert not bootstrap.record_matches(again, {**later, "python": "3.13"})
    assert not bootstrap.record_matches(again, {**later, "lock_sha256": "0" * 64})
    assert not bootstrap.record_matches(None, later)


def test_unreadable_record_counts_as_missing(tmp_path):
    bootstrap.record_path(tmp_path).parent.mkdir(parents=True)
    bootstrap.record_path(tmp_path).write_text("{half")
    assert bootstrap.read_install_record(tmp_path) is None


def test_pth_names_the_repository(tmp_path):
    pth = bootstrap.write_pth(tmp_path, REPO)
    assert pth.name == "kerasup.pth" and pth.read_text() == f"{REPO}\n"


# --------------------------------------------------------------------------- checks


def test_disk_check_refuses_with_override(tmp_path):
    with pytest.raises(bootstrap.SetupError, match="too little disk") as info:
        bootstrap.check_disk(tmp_path / "new" / "env", "cpu", {"KERASUP_MIN_FREE_GB": "1e9"})
    assert "KERASUP_MIN_FREE_GB" in info.value.one_line()
    assert "needs about 0.5 GB" in bootstrap.check_disk(tmp_path, "cpu",
                                                         {"KERASUP_MIN_FREE_GB": "0.5"})
    with pytest.raises(bootstrap.UsageError):
        bootstrap.check_disk(tmp_path, "cpu", {"KERASUP_MIN_FREE_GB": "lots"})


def test_proxy_report_hides_credentials():
    assert bootstrap.proxy_report({}) == "proxy: none set (direct connection)"
    line = bootstrap.proxy_report({"https_proxy": "http://bob:secret@proxy:3128",
                                   "NO_PROXY": "localhost"})
    assert "HTTPS_PROXY=http://***@proxy:3128" in line and "secret" not in line
    assert "NO_PROXY=localhost" in line


def test_no_nvidia_driver_here_is_none():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi")
    assert bootstrap.nvidia_driver({"PATH": "/nonexistent"}) is None


def test_py_launcher_listing_is_parsed():
    listing = (" -V:3.13          C:\\Python313\\python.exe\n"
               " -V:3.12 *        C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312"
               "\\python.exe\n -3.11-64        C:\\Python311\\python.exe\n")
    assert [str(p) for p in bootstrap.parse_py_launcher_list(listing)] == [
        "C:\\Python313\\python.exe",
        "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\\python.exe",
        "C:\\Python311\\python.exe"]


def test_find_pythons_finds_the_running_interpreter():
    me = bootstrap.probe_python(sys.executable)
    assert me is not None and me.version == tuple(sys.version_info[:3])
    if me.minor not in bootstrap.PYTHONS:
        pytest.skip("running Python is not one the environments support")
    environ = {"PATH": str(Path(sys.executable).parent), "HOME": "/nonexistent"}
    found = bootstrap.find_pythons(Target.current(), environ)
    assert me.minor in {p.minor for p in found}
    assert bootstrap.choose_python(found, me.minor).minor == me.minor
    assert bootstrap.choose_python(found, "2.7") is None


def test_tools_requirements_pin_uv_with_uv_lock_hashes():
    text = (REPO / "setup" / "tools-requirements.txt").read_text()
    assert f"uv=={bootstrap.UV_VERSION} " in text
    lock = (REPO / "uv.lock").read_text()
    head = f'name = "uv"\nversion = "{bootstrap.UV_VERSION}"'
    block = lock.split(head)[1].split("[[package]]")[0]
    assert set(re.findall(r"sha256:[0-9a-f]{64}", block)) == \
        set(re.findall(r"sha256:[0-9a-f]{64}", text))


def test_bootstrap_uses_the_standard_library_only():
    tree = ast.parse(BOOTSTRAP.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert names - {"__future__"} <= set(sys.stdlib_module_names)


# --------------------------------------------------------------------------- command line


def _bootstrap(tmp_path: Path, *args: str, **env: str):
    return run_cmd([sys.executable, str(BOOTSTRAP), *args], clean_env(tmp_path, **env))


def test_windows_branch_dry_run(tmp_path):
    ran = _bootstrap(tmp_path, "--platform", "win-64", "--dry-run", "--prefix",
                     str(tmp_path / "env"), "--python", "3.11")
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert f"lock: {CPU_LOCK}" in out
    assert "Scripts\\python.exe" in out and "Scripts\\uv.exe pip sync --require-hashes" in out
    assert "Lib\\site-packages\\kerasup.pth" in out and "Activate.ps1" in out
    assert "Python 3.11" in out
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("name", ["linux-aarch64", "osx-arm64"])
def test_other_posix_branches_dry_run(tmp_path, name):
    ran = _bootstrap(tmp_path, "--platform", name, "--dry-run", "--prefix", str(tmp_path / "e"))
    assert ran.returncode == 0, ran.stderr
    assert "/e/bin/python -m verify --json" in ran.stdout
    assert "lib/python3.12/site-packages/kerasup.pth" in ran.stdout


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--platform", "osx-64", "--dry-run"], 2, "Intel Macs"),
    (["--platform", "win-64", "--variant", "gpu", "--dry-run"], 2, "no native-Windows GPU"),
    (["--platform", "osx-arm64", "--variant", "gpu", "--dry-run"], 2, "CUDA"),
    (["--platform", "win-64"], 2, "only with --dry-run"),
    (["--variant", "tpu", "--dry-run"], 2, "unknown variant 'tpu'"),
    (["--python", "3.9", "--dry-run"], 2, "unsupported Python '3.9'"),
    (["--bogus"], 2, "unrecognized arguments"),
])
def test_bad_input_one_line_error(tmp_path, args, code, words):
    ran = _bootstrap(tmp_path, *args)
    assert ran.returncode == code
    assert len(ran.error_lines) == 1 and ran.error_lines[0].startswith("kerasup: error: ")
    assert words in ran.stderr


def test_conda_without_micromamba_or_conda_lock_says_so(tmp_path):
    # PATH with only the system directories: no micromamba, conda or conda-lock there.
    ran = _bootstrap(tmp_path, "--conda", "--dry-run", "--prefix", str(tmp_path / "e"),
                     PATH="/usr/bin:/bin")
    if shutil.which("micromamba", path="/usr/bin:/bin"):
        pytest.skip("micromamba is installed system-wide")
    assert ran.returncode == 3
    assert len(ran.error_lines) == 1 and "neither was found" in ran.stderr


def test_find_dot_command(tmp_path):
    bindir = tmp_path / "Graphviz" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "dot.exe").write_text("")
    ran = _bootstrap(tmp_path, "--find-dot", "--platform", "win-64", ProgramFiles=str(tmp_path),
                     PATH="/usr/bin:/bin")
    assert ran.returncode == 0 and ran.stdout.strip() == str(bindir)
    ran = _bootstrap(tmp_path, "--find-dot", "--platform", "win-64", PATH="/nonexistent")
    assert ran.returncode == 1 and ran.stdout == ""


def test_falls_back_to_another_installed_python_and_says_so(tmp_path):
    """No Python 3.12 anywhere and no downloads allowed: use the installed one, say why."""
    system = [p for p in ("/usr/bin/python3.11", "/usr/bin/python3.13") if Path(p).exists()]
    if not system or Path("/usr/bin/python3.12").exists():
        pytest.skip("needs a system Python 3.11 or 3.13 and no /usr/bin/python3.12")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no")}
    ran = _bootstrap(tmp_path, "--dry-run", "--prefix", str(tmp_path / "e"), **env)
    assert ran.returncode == 0, ran.stderr
    assert "Python 3.12 is not available (downloads are disabled" in ran.stdout
    assert "falling back to installed Python 3.1" in ran.stdout
    ran = _bootstrap(tmp_path, "--dry-run", "--python", "3.12", "--prefix",
                     str(tmp_path / "e"), **env)
    assert ran.returncode == 3 and len(ran.error_lines) == 1
    assert "no Python 3.12 found" in ran.stderr and "python3.12-venv" in ran.stderr


def test_runs_on_python_3_10(tmp_path):
    """The system Python of Ubuntu 22.04 (3.10) must be able to run the bootstrap."""
    candidates = [*sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")),
                  shutil.which("python3.10")]
    py310 = next((c for c in candidates if c and bootstrap.probe_python(c)), None)
    if not py310:
        pytest.skip("no Python 3.10 here")
    ran = run_cmd([str(py310), str(BOOTSTRAP), "--platform", "win-64", "--dry-run",
                   "--prefix", str(tmp_path / "e")], clean_env(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "Scripts\\python.exe" in ran.stdout
    ran = run_cmd([str(py310), str(BOOTSTRAP), "--dry-run", "--prefix", str(tmp_path / "e")],
                  clean_env(tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "Python for the environment: Python 3.1" in ran.stdout


def test_dry_run_changes_nothing(tmp_path):
    tools = tmp_path / "tools"
    ran = _bootstrap(tmp_path, "--dry-run", "--prefix", str(tmp_path / "env"),
                     KERASUP_BOOTSTRAP_TOOLS=str(tools))
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    for action in ("would run: ", "-m venv", "uv venv", "uv pip sync --require-hashes",
                   "would write", "kerasup.pth", "would create", "keras.json",
                   "install record", "-m verify --json", "dry run: nothing was changed"):
        assert action in ran.stdout


def test_module_api_is_importable_for_colab():
    for name in ("Target", "select_lock", "write_keras_json", "write_install_record",
                 "make_install_record", "run_verify", "write_pth", "find_dot", "ensure_uv"):
        assert name in bootstrap.__all__ and hasattr(bootstrap, name)
    out = subprocess.run([sys.executable, str(BOOTSTRAP), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--variant" in out and "--dry-run" in out


def test_foreign_environment_needs_yes(tmp_path):
    """A virtual environment kerasup did not make is not synced over without --yes."""
    env = tmp_path / "theirs"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    ran = _bootstrap(tmp_path, "--dry-run", "--prefix", str(env))
    assert ran.returncode == 2 and len(ran.error_lines) == 1
    assert "kerasup did not make" in ran.stderr and "--yes" in ran.stderr
    ran = _bootstrap(tmp_path, "--dry-run", "--yes", "--prefix", str(env))
    assert ran.returncode == 0, ran.stderr
    assert "would run: " in ran.stdout and "uv venv --clear" in ran.stdout
    ran = _bootstrap(tmp_path, "--dry-run", "--conda", "--prefix", str(env), PATH="/usr/bin:/bin")
    assert ran.returncode in (2, 3) and len(ran.error_lines) == 1


CONDA_LOCK = REPO / "envs" / "cpu" / "conda-lock.yml"


def test_conda_lock_python_of_the_real_lock():
    if not CONDA_LOCK.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated yet")
    for name in PLATFORMS:
        assert bootstrap.conda_lock_python(CONDA_LOCK, Target.from_platform(name)) == "3.12"


def _stub_tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding placeholder programs of these names (never run: dry runs only)."""
    bindir = tmp_path / "stub-bin"
    bindir.mkdir()
    for name in names:
        (bindir / name).write_text("#!/bin/sh\nexit 99\n")
        (bindir / name).chmod(0o755)
    return f"{bindir}:/usr/bin:/bin"


def test_conda_route_with_micromamba(tmp_path):
    if not CONDA_LOCK.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated yet")
    path = _stub_tools(tmp_path, "micromamba")
    prefix = tmp_path / "env"
    ran = _bootstrap(tmp_path, "--conda", "--dry-run", "--prefix", str(prefix), PATH=path)
    assert ran.returncode == 0, ran.stderr
    assert f"micromamba create --yes --prefix {prefix} --file {CONDA_LOCK}" in ran.stdout
    assert "Python: 3.12 from the conda lock" in ran.stdout
    assert f"{prefix}/bin/python -m verify" in ran.stdout
    assert "micromamba activate" in ran.stdout and not prefix.exists()
    win = _bootstrap(tmp_path, "--conda", "--dry-run", "--platform", "win-64", "--prefix",
                     str(prefix), PATH=path)
    assert win.returncode == 0, win.stderr
    # a conda environment on Windows: python.exe at the top, not in Scripts
    assert "env\\python.exe -m verify" in win.stdout and "Scripts\\python.exe" not in win.stdout
    pinned = _bootstrap(tmp_path, "--conda", "--dry-run", "--python", "3.11", "--prefix",
                        str(prefix), PATH=path)
    assert pinned.returncode == 2 and "pins Python 3.12" in pinned.stderr


def test_conda_route_with_conda_lock_drives_conda(tmp_path):
    if not CONDA_LOCK.is_file():
        pytest.skip("envs/cpu/conda-lock.yml not generated yet")
    path = _stub_tools(tmp_path, "conda-lock", "conda")
    ran = _bootstrap(tmp_path, "--conda", "--dry-run", "--prefix", str(tmp_path / "e"), PATH=path)
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"conda-lock install --conda \S+/stub-bin/conda --prefix \S+/e \S+"
                     r"conda-lock.yml", ran.stdout)
    # conda-lock alone cannot install: it needs conda, mamba or micromamba to drive
    (tmp_path / "x").mkdir()
    ran = _bootstrap(tmp_path, "--conda", "--dry-run", "--prefix", str(tmp_path / "e"),
                     PATH=_stub_tools(tmp_path / "x", "conda-lock"))
    assert ran.returncode == 3 and "neither was found" in ran.stderr


def test_gpu_variant_dry_run_warns_without_a_driver(tmp_path):
    if Target.current().platform != "linux-64":
        pytest.skip("the gpu variant is linux-64 only")
    if not (REPO / "envs" / "gpu" / "requirements.txt").is_file():
        pytest.skip("envs/gpu/requirements.txt not generated yet")
    ran = _bootstrap(tmp_path, "--variant", "gpu", "--dry-run", "--prefix", str(tmp_path / "g"),
                     PATH="/usr/bin:/bin")
    assert ran.returncode == 0, ran.stderr
    assert f"lock: {REPO / 'envs' / 'gpu' / 'requirements.txt'}" in ran.stdout
    assert "needs about 8 GB" in ran.stdout
    if not shutil.which("nvidia-smi"):
        assert "warning: no NVIDIA driver answered" in ran.stdout


def test_check_mode_changes_nothing_and_reports(tmp_path):
    ran = _bootstrap(tmp_path, "--check", "--prefix", str(tmp_path / "e"),
                     HTTPS_PROXY="http://u:pw@proxy.example:3128")
    assert ran.returncode == 0, ran.stderr
    assert "checks passed" in ran.stdout
    assert "HTTPS_PROXY=http://***@proxy.example:3128" in ran.stdout
    assert "pw@" not in ran.stdout and sorted(tmp_path.iterdir()) == []
