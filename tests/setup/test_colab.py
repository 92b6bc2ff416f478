"""setup/colab.py: Colab and GPU detection, variant choice, the restart verdict, installing
into a running interpreter, and the report table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from setup_helpers import clean_env, toy_repo

from envs.contract.layout import Layout
from setup import colab
from setup.installer.target import Target
from tests.conftest import CPU_LOCK, REPO, uv_bin

UV_ENV = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("environ", [
    {"COLAB_RELEASE_TAG": "release-colab_20261120-060000_RC00"},
    {"COLAB_GPU": "1"},
    {"COLAB_GPU": "0"},
])
def test_in_colab_from_colab_variables(environ):
    assert colab.in_colab(environ, modules={})


def test_in_colab_from_imported_google_colab():
    assert colab.in_colab({}, modules={"google.colab": types.ModuleType("google.colab")})


def test_not_in_colab_without_its_module_or_variables():
    assert not colab.in_colab({"HOME": "/root", "PATH": "/usr/bin"}, modules={"os": os})


def test_in_colab_defaults_to_this_process(monkeypatch):
    for name in colab.COLAB_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not colab.in_colab()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261120-060000_RC00")
    assert colab.in_colab()
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert colab.in_colab()


def test_restart_and_drive_do_nothing_outside_colab(monkeypatch):
    for name in colab.COLAB_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert colab.restart_runtime() is False  # and this test process is still alive
    assert colab.mount_drive() is None


def test_gpu_from_colab_gpu_variable(tmp_path):
    assert colab.gpu_present({"COLAB_GPU": "1", "PATH": str(tmp_path)})


@pytest.fixture
def no_real_gpu():
    if colab._nvml_device_count() > 0:
        pytest.skip("this machine has an NVIDIA GPU: the no-GPU branch cannot be seen here")


def test_no_gpu_without_driver_tools(tmp_path, no_real_gpu):
    assert not colab.gpu_present({"PATH": str(tmp_path)})
    assert not colab.gpu_present({"COLAB_GPU": "0", "PATH": str(tmp_path)})


def _nvidia_smi(bin_dir: Path, body: str) -> None:
    exe = bin_dir / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for nvidia-smi")
def test_gpu_from_nvidia_smi(tmp_path, no_real_gpu):
    _nvidia_smi(tmp_path, "echo 'Tesla T4, 535.104.05'")
    assert colab.gpu_present({"PATH": str(tmp_path)})


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for nvidia-smi")
def test_no_gpu_when_nvidia_smi_fails(tmp_path, no_real_gpu):
    _nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed because it could not communicate with "
                          "the NVIDIA driver.'; exit 9")
    assert not colab.gpu_present({"PATH": str(tmp_path)})


def test_variant_choice():
    linux = Target.current()
    assert colab.choose_variant("cpu", gpu=True, target=linux) == "cpu"
    assert colab.choose_variant("gpu", gpu=False, target=linux) == "gpu"
    with pytest.raises(ValueError, match="'tpu'"):
        colab.choose_variant("tpu")
    if linux.platform != "linux-64":
        pytest.skip("the GPU lock exists for linux-64 only")
    assert colab.choose_variant("auto", gpu=True, target=linux) == "gpu"
    assert colab.choose_variant("auto", gpu=False, target=linux) == "cpu"


# --------------------------------------------------------------------------- install


def test_tensorflow_conflicts():
    # Colab's CPU runtime ships `tensorflow`; the CPU lock has `tensorflow-cpu` (same files).
    assert colab.tensorflow_conflicts(["tensorflow-cpu", "keras"],
                                      ["tensorflow", "keras", "numpy"]) == ["tensorflow"]
    assert colab.tensorflow_conflicts(["tensorflow", "keras"],
                                      ["tensorflow_cpu", "tensorflow"]) == ["tensorflow-cpu"]
    assert colab.tensorflow_conflicts(["tensorflow-cpu"], ["tensorflow-cpu"]) == []
    assert colab.tensorflow_conflicts(["numpy"], ["tensorflow"]) == []


def _venv(prefix: Path, *packages: str, seed: bool = False) -> Path:
    subprocess.run([uv_bin(), "venv", "--quiet", *(["--seed"] if seed else []), "--python",
                    sys.executable, str(prefix)], check=True, env=UV_ENV)
    python = prefix / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if packages:
        subprocess.run([uv_bin(), "pip", "install", "--quiet", "--python", str(python),
                        *packages], check=True, env=UV_ENV)
    return python


# colab.install() in a real interpreter, from a toy kerasup checkout whose CPU lock is the
# real lock's `six` entry: the installer's workflow, in place, for real.
RESTART_PROBE = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from setup import colab
    if sys.argv[2] == "import":
        import six
    result = colab.install(Path(sys.argv[1]), "cpu", keep_kernel=False)
    after = colab.take_snapshot()
    print(json.dumps({"method": result.method, "reasons": result.restart,
                      "six": after.versions.get("six"), "file": colab.__file__}))
""")


def _in_runtime(python: Path, repo: Path, tmp: Path, *args: str, **env: str) -> dict:
    done = subprocess.run([str(python), "-c", RESTART_PROBE, str(repo), *args],
                          capture_output=True, text=True, env=clean_env(tmp, **env),
                          check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.network
@pytest.mark.parametrize("imported", [True, False], ids=["imported", "not-imported"])
def test_restart_only_when_an_imported_package_changed(tmp_path, imported):
    """A real interpreter with six 1.16.0 gets the lock's six 1.17.0 installed in-process: a
    restart is asked for only when this interpreter had imported six before."""
    python = _venv(tmp_path / "rt", "six==1.16.0")
    repo = toy_repo(tmp_path)
    result = _in_runtime(python, repo, tmp_path, "import" if imported else "no",
                         KERASUP_UV=uv_bin())
    assert result["six"] == "1.17.0" and result["method"] == "uv"
    assert Path(result["file"]).is_relative_to(repo)
    if imported:
        assert result["reasons"] == ["six 1.16.0 -> 1.17.0 (imported here as six)"]
    else:
        assert result["reasons"] == []
    record = json.loads(Layout(tmp_path / "rt").install_record.read_text())
    assert record["method"] == "uv" and record["toolkit_root"] == str(repo)
    again = _in_runtime(python, repo, tmp_path, "import", KERASUP_UV=uv_bin())
    assert again["reasons"] == []  # up to date: nothing installed, nothing changed


@pytest.mark.network
def test_install_falls_back_to_pip_without_uv(tmp_path):
    python = _venv(tmp_path / "rt", seed=True)
    repo = toy_repo(tmp_path)
    result = _in_runtime(python, repo, tmp_path, "no", PATH="/usr/bin:/bin")
    assert result["method"] == "pip" and result["six"] == "1.17.0"


def test_snapshot_sees_what_this_process_imported():
    snap = colab.take_snapshot()
    assert snap.versions["pytest"]
    assert "pytest" in snap.imported["pytest"]
    fake = colab.Snapshot({**snap.versions, "pytest": "0.0.1"}, {})
    assert colab.restart_reasons(snap, fake) == [
        f"pytest {snap.versions['pytest']} -> 0.0.1 (imported here as "
        f"{', '.join(snap.imported['pytest'])})"]
    assert colab.restart_reasons(snap, snap) == []


# --------------------------------------------------------------------------- report


REPORT = {
    "schema_version": 1, "ok": False,
    "checks": [
        {"name": "packages", "status": "pass", "duration_s": 0.5,
         "summary": "87 packages match the lock", "details": {}, "fix": None},
        {"name": "keras_json", "status": "fail", "duration_s": 0.01,
         "summary": "backend is <jax>", "details": {},
         "fix": "python -m verify --only keras_json --fix"},
    ],
}


def test_report_text_table():
    text = colab.report_text(REPORT)
    assert text.splitlines()[0].split() == ["check", "status", "seconds", "summary"]
    assert "packages    pass       0.50  87 packages match the lock" in text
    assert "fix: python -m verify --only keras_json --fix" in text
    assert text.endswith("SOME CHECKS FAILED (2 checks)")


def test_report_html_table_escapes_and_shows_fixes():
    page = colab.report_html(REPORT)
    assert page.count("<tr>") == 3
    assert "backend is &lt;jax&gt;" in page and "<jax>" not in page
    assert "<code>python -m verify --only keras_json --fix</code>" in page
    assert "Some checks failed" in page
    assert "All checks passed" in colab.report_html({"ok": True, "checks": []})


def test_locked_names_evaluates_markers_for_this_interpreter():
    names = colab.locked_names(CPU_LOCK)
    assert names is not None and {"keras", "numpy", "ipykernel"} <= names
    target = Target.current()
    if target.platform == "linux-64":
        assert "tensorflow-cpu" in names and "tensorflow" not in names
        assert "appnope" not in names  # macOS only


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_restart_runtime_in_colab_ends_the_kernel_process():
    """Colab restarts a kernel that dies; the function does that only behind detection."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from setup import colab; "
            "colab.restart_runtime({'COLAB_RELEASE_TAG': 'release-colab_x'}, {}); "
            "print('still alive')")
    done = subprocess.run([sys.executable, "-c", code, str(REPO)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr)
    assert "restarting the runtime" in done.stdout and "still alive" not in done.stdout


def test_lock_without_the_kernel_keeps_what_others_need():
    text, left_out = colab.lock_without(CPU_LOCK.read_text(encoding="utf-8"),
                                        colab.KERNEL_ROOTS)
    assert {"ipykernel", "ipython", "jupyter-client", "pyzmq", "tornado", "traitlets",
            "comm", "debugpy", "pip"} <= set(left_out)  # pip: the runtime's own installer
    # Needed by the lock's own packages too (keras, rich, matplotlib), so kept.
    assert not {"packaging", "pygments", "python-dateutil", "keras", "tensorflow-cpu",
                "numpy"} & set(left_out)
    names = {line.split("==")[0] for line in text.splitlines()
             if line and not line[0].isspace() and not line.startswith("#")}
    assert not names & set(left_out)
    assert {"keras", "numpy", "packaging", "pygments"} <= names
    assert text.startswith("# kerasup cpu pip lock")  # the header is kept
    assert text.count("--hash=sha256:") > 100  # and every kept entry keeps its hashes


def test_lock_without_nothing_is_the_lock():
    text = CPU_LOCK.read_text(encoding="utf-8")
    assert colab.lock_without(text, []) == (text if text.endswith("\n") else text + "\n", [])


def test_install_summary_says_when_to_restart(tmp_path):
    result = colab.InstallResult(
        variant="cpu", lock=tmp_path / "requirements.txt", method="uv", seconds=12.0,
        changed={"tensorflow": ("2.19.0", None), "tensorflow-cpu": (None, "2.21.0"),
                 "keras": ("3.8.0", "3.15.1")},
        restart=["keras 3.8.0 -> 3.15.1 (imported here as keras)"],
        removed_conflicts=["tensorflow"])
    text = result.summary()
    assert "keras: 3.8.0 -> 3.15.1" in text and "tensorflow: 2.19.0 -> (removed)" in text
    assert "RESTART NEEDED" in text and colab.RESTART_HINT in text
    assert result.restart_needed
    result.restart = []
    assert "no restart needed" in result.summary() and not result.restart_needed


def test_show_report_renders_the_table_and_images(tmp_path, capsys):
    (tmp_path / "model.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    colab.show_report(colab.VerifyRun(1, REPORT, tmp_path / "r.json", tmp_path / "r.xml",
                                      tmp_path))
    out = capsys.readouterr().out
    assert "SOME CHECKS FAILED (2 checks)" in out  # the text/plain side, outside a kernel
    assert "model.png" in out


def test_show_report_without_a_report_says_so(tmp_path, capsys):
    colab.show_report(colab.VerifyRun(2, {"ok": False, "checks": []}, tmp_path / "r.json",
                                      tmp_path / "r.xml", tmp_path))
    assert f"verify exited 2 without writing {tmp_path / 'r.json'}" in capsys.readouterr().out


def _stand_in_wheel(dest: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel that installs a `tensorflow` package, like the
    `tensorflow` distribution Colab preinstalls (whose files `tensorflow-cpu` also owns)."""
    import base64
    import hashlib
    import zipfile

    dist_info = f"{name}-{version}.dist-info"
    files = {
        "tensorflow/__init__.py": f"__version__ = {version!r}  # kerasup test stand-in\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: kerasup-tests\n"
                               "Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


INSTALL_PROBE = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from setup import colab
    result = colab.install(Path(sys.argv[1]), "cpu", keep_kernel=False)
    print(json.dumps({"removed": result.removed_conflicts, "restart": result.restart,
                      "changed": result.changed, "method": result.method}))
""")


@pytest.mark.slow
@pytest.mark.skipif(Target.current().platform != "linux-64",
                    reason="the CPU lock has tensorflow-cpu on linux-64 and win-64 only")
def test_install_replaces_a_preinstalled_tensorflow(tmp_path):
    """Colab's CPU runtime ships `tensorflow`; the CPU lock's `tensorflow-cpu` writes the same
    files, so install() uninstalls `tensorflow` first and then installs the whole lock."""
    wheel = _stand_in_wheel(tmp_path, "tensorflow", "2.19.0")
    # packaging: what every notebook kernel has (ipykernel needs it); it evaluates the markers.
    python = _venv(tmp_path / "rt", str(wheel), "packaging")
    env = {**UV_ENV, "PATH": f"{Path(uv_bin()).parent}{os.pathsep}{os.environ['PATH']}",
           "KERAS_HOME": str(tmp_path / "keras-home")}
    done = subprocess.run([str(python), "-c", INSTALL_PROBE, str(REPO)],
                          capture_output=True, text=True, env=env, check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["removed"] == ["tensorflow"] and result["method"] == "uv"
    assert result["changed"]["tensorflow"] == ["2.19.0", None]
    assert result["changed"]["tensorflow-cpu"][1] == "2.21.0"
    assert result["restart"] == []  # nothing had imported tensorflow
    assert "uninstall" in done.stdout and "tensorflow" in done.stdout
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    package = Path(site.stdout.strip()) / "tensorflow" / "__init__.py"
    assert "kerasup test stand-in" not in package.read_text()  # tensorflow-cpu's own files
    record = json.loads((tmp_path / "rt" / "share" / "kerasup" / "install.json").read_text())
    assert record["lock"] == str(CPU_LOCK.resolve()) and record["variant"] == "cpu"
