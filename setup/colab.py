"""Colab (or any running Jupyter kernel): install a kerasup lock into *this* interpreter.

The code behind ``setup/colab.ipynb``. Only what a live kernel needs lives here:

- detection of Colab and of a GPU runtime, so Colab-only steps sit behind a test;
- a before/after snapshot of installed versions and imported modules, so a runtime
  restart is asked for only when a module already imported in this kernel changed version;
- what a notebook runtime must keep (its kernel packages) and what must go first (a
  preinstalled TensorFlow of another distribution name);
- rendering of verify's JSON report as a table, and of its PNGs and the example's
  training curves, inline with ``IPython.display``.

The install itself is the installer's own workflow (:mod:`setup.installer.workflow`) with
its in-place backend: the same checks, plan, record, site hook and keras.json as
``setup/bootstrap.py --in-place``. Import it as ``setup.colab`` with the kerasup checkout
first on ``sys.path`` (the notebook does). Only the standard library is imported at module
level (IPython and packaging lazily), so nothing here imports TensorFlow, Keras or NumPy.
"""

from __future__ import annotations

import ctypes
import html
import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.contract import facts, nvidia
from envs.contract.layout import Layout
from envs.contract.platforms import refusal
from setup.installer import workflow
from setup.installer.plan import Options
from setup.installer.runner import Runner
from setup.installer.target import Target, find_dot, path_with
from setup.kernel import (
    KERNEL_ROOTS,
    Snapshot,
    changes,
    lock_without,
    locked_names,
    restart_reasons,
    take_snapshot,
    tensorflow_conflicts,
)

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


REPO_ROOT = Path(__file__).resolve().parent.parent
# Colab sets these in every runtime (COLAB_GPU only where an accelerator was asked for).
COLAB_ENV_VARS = ("COLAB_RELEASE_TAG", "COLAB_GPU")
RESTART_HINT = ("Runtime > Restart session, then run the notebook again from the top "
                "(the install step is then a quick no-op)")
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
    return _nvml_device_count() > 0 or nvidia.query_driver(environ) is not None


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
                   target: Target | None = None) -> str:
    """The lock to install: `requested` unless "auto"; "gpu" on a Linux x86_64 GPU runtime."""
    if requested != "auto":
        if requested not in facts.VARIANTS:
            raise ValueError(f"variant {requested!r}: use 'auto' or one of "
                             f"{', '.join(facts.VARIANTS)}")
        return requested
    target = Target.current() if target is None else target
    gpu = gpu_present() if gpu is None else gpu
    # The GPU variant where the contract does not refuse it (Linux x86_64 only).
    usable = gpu and refusal(facts.GPU_VARIANT, target.platform) is None
    return facts.GPU_VARIANT if usable else facts.DEFAULT_VARIANT


# --------------------------------------------------------------------------- install


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


def _kernel_lock(lock: Path, prefix: Path, variant: str) -> tuple[Path, list[str]]:
    """The lock without the kernel's own packages, written beside the install record (it is
    what gets installed and recorded, so verify checks exactly that)."""
    text, kept = lock_without(lock.read_text(encoding="utf-8"), KERNEL_ROOTS)
    derived = Layout(prefix).share / f"colab-{variant}-requirements.txt"
    derived.parent.mkdir(parents=True, exist_ok=True)
    derived.write_text(f"{text}# {lock} without the notebook kernel's own packages (setup/"
                       f"colab.py); left out: {', '.join(kept)}\n", encoding="utf-8")
    return derived, kept


def install(repo: Path = REPO_ROOT, variant: str = "auto", *, keep_kernel: bool | None = None,
            environ: Mapping[str, str] | None = None) -> InstallResult:
    """Install the lock for this runtime into this interpreter (sys.executable), through the
    installer's workflow (in-place backend); then the restart verdict.

    ``keep_kernel`` (default: in Colab) installs the lock without the kernel's own packages
    (KERNEL_ROOTS and what only they need). uv is used when it is on PATH (Colab has it),
    else pip.
    """
    started = time.perf_counter()
    environ = dict(os.environ if environ is None else environ)
    variant = choose_variant(variant)
    keep_kernel = in_colab(environ) if keep_kernel is None else keep_kernel
    source = Layout.lock(repo, variant)
    lock, kept = source, []
    if keep_kernel and source.is_file():
        lock, kept = _kernel_lock(source, Path(sys.prefix), variant)
    before = take_snapshot()
    locked = locked_names(lock) if lock.is_file() else set()
    if locked is None:
        print("warning: cannot evaluate the lock's markers here (no `packaging`), so a "
              "preinstalled TensorFlow of another name is not removed first", flush=True)
    conflicts = tensorflow_conflicts(locked or (), before.versions)
    options = Options(variant=variant, in_place=True, lock=lock if keep_kernel else None,
                      uninstall_first=tuple(conflicts), verify=False)
    plan, _ = workflow.install(options, environ=environ, repo=repo, runner=Runner())
    after = take_snapshot()
    return InstallResult(variant=variant, lock=lock, method=plan.method,
                         seconds=time.perf_counter() - started, changed=changes(before, after),
                         restart=restart_reasons(before, after),
                         removed_conflicts=[] if plan.up_to_date else conflicts,
                         kept=[n for n in kept if n in before.versions],
                         source=source if keep_kernel else None)


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
    """Run ``python -m verify`` in this interpreter (``--out`` for the model graph, ``--data``
    for MNIST), with graphviz's dot on PATH, and load the JSON report it wrote."""
    environ = os.environ if environ is None else environ
    target = Target.current()
    layout = Layout(Path(sys.prefix))
    out_dir.mkdir(parents=True, exist_ok=True)
    layout.share.mkdir(parents=True, exist_ok=True)
    dot = find_dot(target, environ, env_prefix=sys.prefix)
    extra = [Path(sys.executable).parent, *([dot] if dot else [])]
    env = {**environ, "PATH": path_with(extra, environ.get("PATH", ""), target)}
    cmd = layout.verify_argv(sys.executable, "--out", str(out_dir),
                             *(["--data", str(data)] if data is not None else []))
    done = Runner().run(cmd, env=env, cwd=layout.share)
    returncode = 1 if done is None else done.returncode
    report = (json.loads(layout.verify_report.read_text(encoding="utf-8"))
              if layout.verify_report.is_file() else {"ok": False, "checks": []})
    return VerifyRun(returncode, report, layout.verify_report, layout.verify_junit, out_dir)


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
    done = Runner().run(cmd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done is None or done.returncode != 0:
        raise RuntimeError(f"{script.name} failed (see its output above)")
    return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
