"""Colab (or any running Jupyter kernel): install a kerasup lock into *this* interpreter.

The code behind ``setup/colab.ipynb``. Colab is not a virtual environment, so the locked
packages go into the running interpreter (``sys.executable``) with uv, which Colab has on
PATH (``uv pip install --python PYTHON --require-hashes -r envs/<variant>/requirements.txt``),
or with ``python -m pip install --require-hashes`` where uv is absent. The lock is picked,
``keras.json`` and the install record are written, and ``python -m verify`` is run by
``setup/bootstrap.py``'s functions; this module adds what only a live kernel needs:

- detection of Colab and of a GPU runtime, so Colab-only steps sit behind a test;
- a before/after snapshot of installed versions and imported modules, so a runtime
  restart is asked for only when a module already imported in this kernel changed version;
- rendering of verify's JSON report as a table, and of its PNGs and the example's
  training curves, inline with ``IPython.display``.

Only the standard library is imported at module level (IPython lazily, for display), so
nothing here imports TensorFlow, Keras or NumPy before the install.
"""

from __future__ import annotations

import ctypes
import html
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# bootstrap.py is this file's sibling: `setup.bootstrap` when imported as `setup.colab` (the
# repository root on sys.path: tests, kerasup.pth), else top-level with setup/ on sys.path,
# the way the notebook imports this file before anything is installed.
_SETUP_DIR = Path(__file__).resolve().parent
if __package__:
    from . import bootstrap
else:
    if str(_SETUP_DIR) not in sys.path:
        sys.path.insert(0, str(_SETUP_DIR))
    import bootstrap  # type: ignore[no-redef]

__all__ = [
    "COLAB_ENV_VARS",
    "KERNEL_ROOTS",
    "RESTART_HINT",
    "InstallResult",
    "Snapshot",
    "VerifyRun",
    "choose_variant",
    "gpu_present",
    "in_colab",
    "install",
    "install_command",
    "install_lock",
    "lock_without",
    "locked_names",
    "mount_drive",
    "report_html",
    "report_text",
    "restart_reasons",
    "restart_runtime",
    "run_example",
    "show_images",
    "show_report",
    "take_snapshot",
    "tensorflow_conflicts",
    "verify",
]


REPO_ROOT = _SETUP_DIR.parent
# Colab sets these in every runtime (COLAB_GPU only where an accelerator was asked for).
COLAB_ENV_VARS = ("COLAB_RELEASE_TAG", "COLAB_GPU")
RESTART_HINT = ("Runtime > Restart session, then run the notebook again from the top "
                "(the install step is then a quick no-op)")
# The packages a notebook runtime runs its kernel with. Colab pins them (google.colab is
# built against its IPython and ipykernel), so there the lock is installed without them and
# without what only they need; elsewhere the whole lock goes in.
KERNEL_ROOTS = frozenset({"ipykernel"})
# Distributions that all install the same `tensorflow` package: only one may be present.
TENSORFLOW_DISTRIBUTIONS = frozenset({
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
    "tf-nightly", "tf-nightly-cpu",
})


# --------------------------------------------------------------------------- detection


def in_colab(environ: Mapping[str, str] | None = None,
             modules: Mapping[str, object] | None = None) -> bool:
    """True inside Google Colab: `google.colab` is imported, or Colab's variables are set."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    return "google.colab" in modules or any(name in environ for name in COLAB_ENV_VARS)


def gpu_present(environ: Mapping[str, str] | None = None) -> bool:
    """True when an NVIDIA GPU is usable: COLAB_GPU=1, NVML counts one, or nvidia-smi answers."""
    environ = os.environ if environ is None else environ
    if environ.get("COLAB_GPU", "").strip() == "1":
        return True
    return _nvml_device_count() > 0 or bootstrap.nvidia_driver(environ) is not None


def _nvml_device_count() -> int:
    """GPUs NVML reports, through the driver's own library (0 where there is no driver)."""
    try:
        nvml = ctypes.CDLL("nvml.dll" if os.name == "nt" else "libnvidia-ml.so.1")
    except OSError:
        return 0
    try:
        if nvml.nvmlInit_v2() != 0:
            return 0
    except AttributeError:
        return 0
    try:
        count = ctypes.c_uint(0)
        return count.value if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
    finally:
        nvml.nvmlShutdown()


def choose_variant(requested: str = "auto", *, gpu: bool | None = None,
                   target: bootstrap.Target | None = None) -> str:
    """The lock to install: `requested` unless "auto"; "gpu" on a Linux x86_64 GPU runtime."""
    if requested != "auto":
        if requested not in bootstrap.VARIANTS:
            raise ValueError(f"variant {requested!r}: use 'auto' or one of "
                             f"{', '.join(bootstrap.VARIANTS)}")
        return requested
    target = bootstrap.Target.current() if target is None else target
    gpu = gpu_present() if gpu is None else gpu
    return "gpu" if gpu and target.platform == "linux-64" else "cpu"


# --------------------------------------------------------------------------- snapshots


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Snapshot:
    """Installed distribution versions, and which of them this kernel has already imported."""

    versions: dict[str, str]
    # canonical distribution name -> the imported modules it provides (e.g. "numpy": ["numpy"])
    imported: dict[str, list[str]] = field(default_factory=dict)


def _import_roots(dist: importlib.metadata.Distribution) -> set[str]:
    """The importable names a distribution installs: `numpy`, or `google.protobuf` under a
    namespace package."""
    files = dist.files or []
    paths = {f.as_posix() for f in files}
    roots: set[str] = set()
    for f in files:
        parts = f.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(
                (".dist-info", ".data", ".egg-info")):
            continue
        if len(parts) == 1:
            if parts[0].endswith((".py", ".so", ".pyd")):
                roots.add(parts[0].split(".", 1)[0])
            continue
        if f"{parts[0]}/__init__.py" in paths or len(parts) == 2:
            roots.add(parts[0])
        else:  # a namespace package (no __init__.py): its subpackage is what is imported
            roots.add(f"{parts[0]}.{parts[1].split('.', 1)[0]}")
    return roots


def take_snapshot(modules: Iterable[str] | None = None) -> Snapshot:
    """Versions of every installed distribution, and the imported ones among `modules`
    (default: this kernel's sys.modules)."""
    importlib.invalidate_caches()
    versions: dict[str, str] = {}
    dists: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and _canonical(name) not in versions:  # the first on sys.path is the one used
            versions[_canonical(name)] = dist.version
            dists[_canonical(name)] = dist
    loaded = set(sys.modules if modules is None else modules)
    tops = {m.partition(".")[0] for m in loaded}
    owners = importlib.metadata.packages_distributions()
    candidates = {_canonical(o) for top in tops for o in owners.get(top, [])}
    imported: dict[str, list[str]] = {}
    for owner in sorted(candidates & set(dists)):
        hits = sorted(root for root in _import_roots(dists[owner]) if root in loaded)
        if hits:
            imported[owner] = hits
    return Snapshot(versions, imported)


def restart_reasons(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per distribution that changed although this kernel had imported it.

    Empty means the new versions are picked up without a restart.
    """
    reasons = []
    for name, mods in sorted(before.imported.items()):
        old, new = before.versions.get(name), after.versions.get(name)
        if old != new:
            change = f"{old} -> {new}" if new else f"{old} -> removed"
            reasons.append(f"{name} {change} (imported here as {', '.join(mods)})")
    return reasons


def _changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[str | None, str | None]]:
    names = set(before.versions) | set(after.versions)
    return {n: (before.versions.get(n), after.versions.get(n)) for n in sorted(names)
            if before.versions.get(n) != after.versions.get(n)}


# --------------------------------------------------------------------------- install


def _externally_managed(python: str) -> bool:
    """True where the interpreter's stdlib carries PEP 668's EXTERNALLY-MANAGED marker."""
    if Path(python).resolve() == Path(sys.executable).resolve():
        stdlib = sysconfig.get_path("stdlib")
    else:
        stdlib = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
            capture_output=True, text=True, check=True).stdout.strip()
    in_venv = Path(python).parent.parent.joinpath("pyvenv.cfg").is_file()
    return not in_venv and Path(stdlib, "EXTERNALLY-MANAGED").is_file()


def install_command(lock: Path, python: str = sys.executable, *,
                    uv: str | None = None) -> list[str]:
    """The command that installs `lock` into the interpreter `python` (no venv, hashes required).

    With uv: `uv pip install --python PYTHON --require-hashes -r LOCK`; without it, pip.
    """
    if uv:
        cmd = [uv, "pip", "install", "--python", python, "--require-hashes", "-r", str(lock)]
    else:
        cmd = [python, "-m", "pip", "install", "--disable-pip-version-check",
               "--require-hashes", "-r", str(lock)]
    if _externally_managed(python):
        cmd.append("--break-system-packages")
    return cmd


def locked_names(lock: Path) -> set[str] | None:
    """Distributions `lock` installs on this interpreter (markers evaluated here), or None
    where neither `packaging` (every Jupyter kernel has it: ipykernel needs it) nor pip's
    copy of it is importable to evaluate them."""
    try:
        from packaging.markers import Marker
    except ImportError:
        try:
            from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
        except ImportError:
            return None
    names: set[str] = set()
    for line in lock.read_text(encoding="utf-8").splitlines():
        if not line or line[0].isspace() or line.startswith(("#", "-")):
            continue
        spec, _, marker = line.rstrip(" \\").partition(";")
        if not marker.strip() or Marker(marker.strip()).evaluate():
            names.add(_canonical(re.split(r"[=<>!~\[ ]", spec.strip(), maxsplit=1)[0]))
    return names


def lock_without(text: str, roots: Iterable[str]) -> tuple[str, list[str]]:
    """A pip lock's text without `roots` and the entries only they need (the lock's
    "# via" notes say who needs what); and the names left out, sorted."""
    header: list[str] = []
    blocks: list[tuple[str, list[str], set[str]]] = []  # (name, lines, needed by)
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name = _canonical(re.split(r"[=<>!~\[ ;]", line.strip(), maxsplit=1)[0])
            blocks.append((name, [line], set()))
        elif blocks:
            blocks[-1][1].append(line)
            note = line.strip().removeprefix("#").strip().removeprefix("via").strip()
            if line.strip().startswith("#") and note:
                blocks[-1][2].add(_canonical(note.split()[0]))
        else:
            header.append(line)
    dropped = {_canonical(r) for r in roots}
    while True:
        more = {name for name, _, via in blocks
                if name not in dropped and via and via <= dropped}
        if not more:
            break
        dropped |= more
    kept = [line for name, lines, _ in blocks if name not in dropped for line in lines]
    left_out = sorted(name for name, _, _ in blocks if name in dropped)
    return "\n".join([*header, *kept]) + "\n", left_out


def tensorflow_conflicts(locked: Iterable[str], installed: Iterable[str]) -> list[str]:
    """Installed TensorFlow distributions the lock does not name (e.g. Colab's `tensorflow`
    where the CPU lock has `tensorflow-cpu`): they share files, so they go first."""
    locked_tf = {_canonical(n) for n in locked} & TENSORFLOW_DISTRIBUTIONS
    if not locked_tf:
        return []
    return sorted({_canonical(n) for n in installed} & TENSORFLOW_DISTRIBUTIONS - locked_tf)


def _run(cmd: Sequence[str], environ: Mapping[str, str] | None = None,
         **extra: str) -> subprocess.CompletedProcess[str]:
    """Run through bootstrap's Runner, whose output lines go to this process's stdout (so a
    notebook shows them, unlike a child writing to the kernel's own file descriptors)."""
    env = {**(os.environ if environ is None else environ), **extra}
    done = bootstrap.Runner().run(cmd, env=env)
    assert done is not None  # a Runner that is not a dry run always runs
    return done


def install_lock(lock: Path, python: str = sys.executable, *, uv: str | None = None,
                 environ: Mapping[str, str] | None = None) -> str:
    """Install `lock` into `python` (uv, or pip where `uv` is ""); the method used."""
    environ = os.environ if environ is None else environ
    uv = uv if uv is not None else shutil.which("uv", path=environ.get("PATH"))
    done = _run(install_command(lock, python, uv=uv), environ, UV_PYTHON_DOWNLOADS="never")
    if done.returncode != 0:
        offline = environ.get("KERASUP_OFFLINE", "") not in ("", "0")
        if bootstrap.network_failure(done.stdout, offline):
            raise bootstrap.SetupError(
                "cannot install the lock: no network, and the locked packages are not cached",
                fix="connect (HTTPS_PROXY behind a proxy) and run the cell again")
        raise bootstrap.SetupError(f"installing {lock} failed (see above); running the cell "
                                   "again repairs a partial install")
    return "uv" if uv else "pip"


def _uninstall(names: Sequence[str], python: str, uv: str | None) -> None:
    if uv:
        cmd = [uv, "pip", "uninstall", "--python", python, *names]
    else:
        cmd = [python, "-m", "pip", "uninstall", "--yes", *names]
    if _run(cmd, UV_PYTHON_DOWNLOADS="never").returncode != 0:
        raise bootstrap.SetupError(f"could not uninstall {', '.join(names)} (see above)")


@dataclass
class InstallResult:
    """What `install` did: the lock, how, what changed, and whether a restart is needed."""

    variant: str
    lock: Path
    method: str
    seconds: float
    changed: dict[str, tuple[str | None, str | None]]
    restart: list[str]
    removed_conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the runtime's kernel packages, left as-is
    source: Path | None = None  # the repository's lock `lock` was derived from, if it was

    @property
    def restart_needed(self) -> bool:
        """True when modules this kernel already imported changed version."""
        return bool(self.restart)

    def summary(self) -> str:
        """A few lines for the notebook: the lock, the changes, and the restart verdict."""
        derived = f" (as {self.lock})" if self.source else ""
        lines = [f"installed the {self.variant} lock {self.source or self.lock}{derived} with "
                 f"{self.method} in {self.seconds:.0f} s: {len(self.changed)} distributions "
                 "changed"]
        for name in ("tensorflow", "tensorflow-cpu", "keras", "numpy"):
            if name in self.changed:
                old, new = self.changed[name]
                lines.append(f"  {name}: {old or '(none)'} -> {new or '(removed)'}")
        if self.kept:
            lines.append(f"  kept this runtime's own kernel packages: {', '.join(self.kept)}")
        if self.removed_conflicts:
            lines.append(f"  removed {', '.join(self.removed_conflicts)} (conflicts with the "
                         "lock's TensorFlow)")
        if self.restart:
            lines.append("RESTART NEEDED: this kernel had already imported packages that "
                         "changed:")
            lines += [f"  {reason}" for reason in self.restart]
            lines.append(RESTART_HINT)
        else:
            lines.append("no restart needed: nothing this kernel had imported changed")
        return "\n".join(lines)


def install(repo: Path = REPO_ROOT, variant: str = "auto", *, uv: str | None = None,
            keep_kernel: bool | None = None,
            environ: Mapping[str, str] | None = None) -> InstallResult:
    """Pick the lock for this runtime and install it into this interpreter (sys.executable);
    then kerasup.pth, keras.json and the install record (bootstrap's), and the restart verdict.

    `keep_kernel` (default: in Colab) installs the lock without the kernel's own packages
    (KERNEL_ROOTS and what only they need), written as a lock of its own next to the install
    record and recorded there, so `python -m verify` checks exactly what was installed.
    """
    started = time.perf_counter()
    environ = os.environ if environ is None else environ
    python = sys.executable
    py_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    if py_minor not in bootstrap.PYTHONS:
        raise bootstrap.UsageError(
            f"this runtime runs Python {py_minor}; the locks cover {', '.join(bootstrap.PYTHONS)}",
            fix="Colab: Runtime > Change runtime type > Runtime version: Latest")
    target = bootstrap.Target.current()
    variant = choose_variant(variant, target=target)
    keep_kernel = in_colab(environ) if keep_kernel is None else keep_kernel
    uv = uv if uv is not None else shutil.which("uv", path=environ.get("PATH"))
    method = "uv" if uv else "pip"
    lock = bootstrap.select_lock(variant, target, repo, method)
    prefix = Path(sys.prefix)
    kept: list[str] = []
    source = None
    if keep_kernel:
        text, kept = lock_without(lock.read_text(encoding="utf-8"), KERNEL_ROOTS)
        derived = bootstrap.record_path(prefix).parent / f"colab-{variant}-requirements.txt"
        derived.parent.mkdir(parents=True, exist_ok=True)
        derived.write_text(f"# {lock} without the notebook kernel's own packages, written by "
                           f"setup/colab.py; left out: {', '.join(kept)}\n{text}",
                           encoding="utf-8")
        source, lock = lock, derived
    before = take_snapshot()
    locked = locked_names(lock)
    if locked is None:
        print("warning: cannot evaluate the lock's markers here (no `packaging`), so a "
              "preinstalled TensorFlow of another name is not removed first", flush=True)
    conflicts = tensorflow_conflicts(locked or (), before.versions)
    if conflicts:
        _uninstall(conflicts, python, uv)
    install_lock(lock, python, uv=uv or "", environ=environ)
    after = take_snapshot()
    bootstrap.write_pth(Path(sysconfig.get_paths()["purelib"]), repo)
    bootstrap.write_keras_json(bootstrap.keras_json_path(environ))
    bootstrap.write_install_record(prefix, bootstrap.make_install_record(
        variant, py_minor, target, lock, method, repo))
    return InstallResult(variant=variant, lock=lock, method=method,
                         seconds=time.perf_counter() - started, changed=_changes(before, after),
                         restart=restart_reasons(before, after), removed_conflicts=conflicts,
                         kept=[n for n in kept if n in before.versions], source=source)


def restart_runtime(environ: Mapping[str, str] | None = None,
                    modules: Mapping[str, object] | None = None) -> bool:
    """In Colab, end this kernel so Colab restarts it (its documented way); elsewhere do
    nothing and return False."""
    if not in_colab(environ, modules):
        return False
    print("restarting the runtime; then run the notebook again from the top", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    return True  # not reached


def mount_drive(mountpoint: str = "/content/drive") -> Path | None:
    """In Colab, mount Google Drive at `mountpoint`; elsewhere return None."""
    if not in_colab():
        return None
    from google.colab import drive  # type: ignore[import-not-found]  # Colab only

    drive.mount(mountpoint)
    return Path(mountpoint)


# --------------------------------------------------------------------------- verify & show


@dataclass
class VerifyRun:
    """One `python -m verify` run: its exit code, parsed JSON report and output folder."""

    returncode: int
    report: dict[str, Any]
    json_path: Path
    junit_path: Path
    out_dir: Path

    @property
    def ok(self) -> bool:
        """True when verify exited 0 and its report says ok."""
        return self.returncode == 0 and bool(self.report.get("ok"))

    def images(self) -> list[Path]:
        """The PNGs verify wrote under its --out folder (the model graph among them)."""
        return sorted(self.out_dir.rglob("*.png"))


def verify(out_dir: Path, *, repo: Path = REPO_ROOT, data: Path | None = None,
           environ: Mapping[str, str] | None = None) -> VerifyRun:
    """Run `python -m verify` in this interpreter (bootstrap's run_verify, with `--out` for
    the model graph and `--data` for MNIST) and load the JSON report it wrote."""
    environ = os.environ if environ is None else environ
    target = bootstrap.Target.current()
    prefix = Path(sys.prefix)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["--out", str(out_dir), *(["--data", str(data)] if data is not None else [])]
    dot = bootstrap.find_dot(target, environ, prefix)
    extra = [Path(sys.executable).parent, *([dot] if dot else [])]
    returncode = bootstrap.run_verify(Path(sys.executable), prefix, target, bootstrap.Runner(),
                                      environ, extra, args)
    share = bootstrap.record_path(prefix).parent
    json_path, junit_path = share / "verify-report.json", share / "verify-junit.xml"
    report = (json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file()
              else {"ok": False, "checks": []})
    return VerifyRun(returncode, report, json_path, junit_path, out_dir)


_STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#cf222e",
                   "skip": "#9a6700", "warn": "#9a6700"}


def report_text(report: Mapping[str, Any]) -> str:
    """verify's JSON report as a plain-text table (the notebook's text/plain fallback)."""
    checks = report.get("checks", [])
    width = max([len(str(c.get("name", ""))) for c in checks] + [5])
    lines = [f"{'check':<{width}}  status  seconds  summary"]
    for check in checks:
        lines.append(f"{check.get('name', '')!s:<{width}}  {check.get('status', '')!s:<6}  "
                     f"{float(check.get('duration_s') or 0):7.2f}  {check.get('summary', '')}")
        if check.get("fix") and check.get("status") != "pass":
            lines.append(f"{'':<{width}}  fix: {check['fix']}")
    verdict = "ALL CHECKS PASSED" if report.get("ok") else "SOME CHECKS FAILED"
    lines.append(f"{verdict} ({len(checks)} checks)")
    return "\n".join(lines)


def report_html(report: Mapping[str, Any]) -> str:
    """verify's JSON report as an HTML table: one row per check, status coloured."""
    rows = []
    for check in report.get("checks", []):
        status = str(check.get("status", ""))
        colour = _STATUS_COLOURS.get(status, "inherit")
        fix = check.get("fix") if status != "pass" else None
        fix_html = f"<br><code>{html.escape(str(fix))}</code>" if fix else ""
        rows.append(
            "<tr>"
            f"<td><code>{html.escape(str(check.get('name', '')))}</code></td>"
            f"<td style='color:{colour};font-weight:bold'>{html.escape(status)}</td>"
            f"<td style='text-align:right'>{float(check.get('duration_s') or 0):.2f}</td>"
            f"<td style='text-align:left'>{html.escape(str(check.get('summary', '')))}"
            f"{fix_html}</td></tr>")
    ok = bool(report.get("ok"))
    verdict = (f"<p style='color:{_STATUS_COLOURS['pass' if ok else 'fail']};"
               f"font-weight:bold'>{'All checks passed' if ok else 'Some checks failed'}</p>")
    return ("<table class='kerasup-verify'><thead><tr><th>check</th><th>status</th>"
            "<th>seconds</th><th style='text-align:left'>summary</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + verdict)


def show_report(run: VerifyRun) -> None:
    """Display verify's report as a table (HTML, with a text fallback) and its images."""
    from IPython.display import display

    if not run.report.get("checks"):
        print(f"verify exited {run.returncode} without writing {run.json_path}; its output "
              "is above")
        return
    display({"text/html": report_html(run.report), "text/plain": report_text(run.report)},
            raw=True)
    show_images(run.images())


def show_images(paths: Iterable[Path]) -> None:
    """Display PNG files inline, each under its file name."""
    from IPython.display import Image, display

    for path in paths:
        print(path.name)
        display(Image(filename=str(path)))


def run_example(out_dir: Path, *, python: str = sys.executable, repo: Path = REPO_ROOT,
                data: Path | None = None, epochs: int = 2) -> dict[str, Any] | None:
    """Run examples/mnist_dense.py for a few epochs into `out_dir`; its metrics.json, or None
    where the example is absent. Its loss.png and accuracy.png are the training curves."""
    script = repo / "examples" / "mnist_dense.py"
    if not script.is_file():
        return None
    cmd = [python, str(script), "--epochs", str(epochs), "--out", str(out_dir)]
    if data is not None:
        cmd += ["--data", str(data)]
    if _run(cmd, TF_CPP_MIN_LOG_LEVEL="2").returncode != 0:
        raise RuntimeError(f"{script.name} failed (see its output above)")
    return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
