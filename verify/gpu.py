"""The GPU chain, layer by layer: NVIDIA driver -> TensorFlow's CUDA build -> TensorFlow at
run time; and the diagnosis of where it breaks.

Fact gathering is split from :func:`diagnose`, which is pure (unit-tested with given facts).
TensorFlow is only imported inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envs.contract.nvidia import WSL_LIB, find_nvidia_smi, hung_reason
from envs.contract.procs import bounded

__all__ = [
    "BuildInfo",
    "DriverInfo",
    "RuntimeInfo",
    "Verdict",
    "classify_tf_log",
    "diagnose",
    "min_driver_for",
    "probe_build",
    "probe_driver",
    "probe_runtime",
    "probe_runtime_subprocess",
]

# Minimum Linux driver for each CUDA toolkit (NVIDIA's CUDA release notes, table 3).
_MIN_DRIVER = {
    (11, 2): "460.27.03", (11, 8): "520.61.05", (12, 0): "525.60.13", (12, 1): "530.30.02",
    (12, 2): "535.54.03", (12, 3): "545.23.06", (12, 4): "550.54.14", (12, 5): "555.42.02",
    (12, 6): "560.28.03", (12, 8): "570.26", (12, 9): "575.51.03", (13, 0): "580.65.06",
}

# Lines TensorFlow prints on every start that mean nothing is wrong.
HARMLESS = [re.compile(p) for p in (
    r"oneDNN custom operations are on",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"Unable to register (cuDNN|cuFFT|cuBLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
    r"successful NUMA node read from SysFS had negative value",
    r"Created device /job:localhost/replica:0/task:0/device:GPU",
    r"Could not find cuda drivers on your machine, GPU will not be used",
    r"failed call to cuInit: .*UNKNOWN ERROR \(303\)",
    r"XLA service .* initialized for platform",
    r"StreamExecutor device \(\d+\)",
    r"Loaded cuDNN version \d+",
    r"Compiled cluster using XLA",
    r"absl::InitializeLog",
    r"Registered factory for plugin",
)]
_MISSING_LIB = re.compile(r"Could not load dynamic library '([^']+)'(?:; dlerror: ([^\n]*))?")
_PROBLEMS = [re.compile(p) for p in (
    r"Cannot dlopen some GPU libraries.*",
    r"failed call to cuInit: (?!.*UNKNOWN ERROR \(303\)).*",
    r"CUDA driver version is insufficient for CUDA runtime version.*",
    r"Loaded runtime CuDNN library: .* but source was compiled with: .*",
    r"no kernel image is available for execution on the device.*",
    r"[Cc]ould not (?:load|find|open) .*(?:libcu|libnv|cudnn|cublas|cufft|cusparse|cusolver).*",
)]


def classify_tf_log(text: str) -> tuple[list[str], list[str], int]:
    """(problem lines, missing library names, number of harmless lines) in TensorFlow's log."""
    problems: list[str] = []
    missing: list[str] = []
    harmless = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if any(p.search(line) for p in HARMLESS):
            harmless += 1
            continue
        m = _MISSING_LIB.search(line)
        if m:
            if m.group(1) not in missing:
                missing.append(m.group(1))
            problems.append(line.strip())
            continue
        if any(p.search(line) for p in _PROBLEMS):
            problems.append(line.strip())
    return problems, missing, harmless


def _ver(text: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text or ""))[:3]


def min_driver_for(cuda: str) -> str | None:
    """The oldest Linux driver that supports CUDA ``cuda`` (e.g. "12.5.1" -> "555.42.02")."""
    want = _ver(cuda)[:2]
    best = None
    for key, drv in sorted(_MIN_DRIVER.items()):
        if key <= want:
            best = drv
    return best


@dataclass
class DriverInfo:
    """Layer (a): what the NVIDIA driver says."""

    source: str  # "nvml" or "nvidia-smi"
    driver_version: str | None = None
    cuda_version: str | None = None  # newest CUDA the driver supports, "12.4"
    gpus: list[str] = field(default_factory=list)


@dataclass
class BuildInfo:
    """Layer (b): what TensorFlow was built with."""

    tf_version: str
    is_cuda_build: bool
    cuda_version: str | None = None
    cudnn_version: str | None = None


@dataclass
class RuntimeInfo:
    """Layer (c): what TensorFlow registers and whether a matmul runs on the first GPU."""

    gpus: list[str] = field(default_factory=list)
    matmul_device: str | None = None
    matmul_error: str | None = None
    error: str | None = None
    log_problems: list[str] = field(default_factory=list)
    missing_libraries: list[str] = field(default_factory=list)
    harmless_log_lines: int = 0


@dataclass
class Verdict:
    status: str  # pass | warn | fail
    summary: str
    fix: str | None = None
    layer: str | None = None  # where the chain breaks: driver | build | runtime | platform


def probe_driver() -> tuple[DriverInfo | None, list[str]]:
    """The driver through NVML, else nvidia-smi; None with the reasons when neither works."""
    reasons: list[str] = []
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            info = DriverInfo("nvml")
            drv = pynvml.nvmlSystemGetDriverVersion()
            info.driver_version = drv.decode() if isinstance(drv, bytes) else str(drv)
            cuda = int(pynvml.nvmlSystemGetCudaDriverVersion_v2())
            info.cuda_version = f"{cuda // 1000}.{cuda % 1000 // 10}"
            for i in range(pynvml.nvmlDeviceGetCount()):
                name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
                info.gpus.append(name.decode() if isinstance(name, bytes) else str(name))
            return info, reasons
        finally:
            pynvml.nvmlShutdown()
    except ImportError:
        reasons.append("nvidia-ml-py (pynvml) is not installed")
    except Exception as exc:  # pynvml raises NVMLError subclasses built at run time
        reasons.append(f"NVML: {exc}")
    smi = find_nvidia_smi(os.environ)  # PATH, then WSL2's /usr/lib/wsl/lib
    if not smi:
        reasons.append(f"nvidia-smi is not on PATH (nor in {WSL_LIB})")
        return None, reasons
    try:
        out = bounded([smi], capture_output=True, text=True, timeout=20,
                      stdin=subprocess.DEVNULL)
        q = bounded([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                    capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        reasons.append(hung_reason(smi, 20))
        return None, reasons
    except OSError as exc:
        reasons.append(f"nvidia-smi failed: {exc}")
        return None, reasons
    if out.returncode != 0:
        reasons.append(f"nvidia-smi failed: {(out.stdout + out.stderr).strip()[:300]}")
        return None, reasons
    info = DriverInfo("nvidia-smi")
    m = re.search(r"CUDA Version:\s*([\d.]+)", out.stdout)
    info.cuda_version = m.group(1) if m else None
    for line in q.stdout.splitlines():
        if "," in line:
            name, drv = (s.strip() for s in line.rsplit(",", 1))
            info.gpus.append(name)
            info.driver_version = drv
    return info, reasons


def probe_build() -> BuildInfo:
    """Layer (b); imports TensorFlow (or waits for verify.preload's import)."""
    from verify import preload

    preload.wait()
    import tensorflow as tf

    build = dict(tf.sysconfig.get_build_info())
    return BuildInfo(tf.__version__, bool(build.get("is_cuda_build")),
                     build.get("cuda_version"), build.get("cudnn_version"))


def probe_runtime() -> RuntimeInfo:
    """Layer (c) in this process; imports TensorFlow."""
    import tensorflow as tf

    info = RuntimeInfo()
    try:
        info.gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception as exc:
        info.error = f"{type(exc).__name__}: {exc}"
        return info
    if info.gpus:
        try:
            with tf.device("/GPU:0"):
                a = tf.random.stateless_normal((256, 256), seed=(1, 2))
                c = tf.linalg.matmul(a, a)
                _ = c.numpy()
            info.matmul_device = c.device
        except Exception as exc:
            info.matmul_error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return info


_PROBE = """
import json, sys
from verify.gpu import probe_runtime
from dataclasses import asdict
print("KERASUP-GPU-PROBE " + json.dumps(asdict(probe_runtime())))
"""


def probe_runtime_subprocess(timeout: float = 180) -> tuple[RuntimeInfo, str]:
    """Layer (c) in a fresh interpreter with TensorFlow's full log, which names any CUDA
    library it could not load. Returns the info and the raw log."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "PYTHONPATH": path}
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return RuntimeInfo(error=f"TensorFlow did not start within {timeout:.0f}s"), ""
    log = proc.stderr
    info = RuntimeInfo()
    for line in proc.stdout.splitlines():
        if line.startswith("KERASUP-GPU-PROBE "):
            info = RuntimeInfo(**json.loads(line.split(" ", 1)[1]))
    if proc.returncode != 0 and not info.error:
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        info.error = f"TensorFlow exited with status {proc.returncode}: {tail[0]}"
    info.log_problems, info.missing_libraries, info.harmless_log_lines = classify_tf_log(log)
    return info, log


def _platform_verdict(system: str, build: BuildInfo | None) -> Verdict | None:
    tf_ver = _ver(build.tf_version if build else None)
    if system == "Darwin":
        return Verdict("fail", "macOS has no CUDA: TensorFlow cannot use an NVIDIA GPU here",
                       "use the CPU variant on macOS (--variant cpu or --no-expect-gpu); "
                       "for a CUDA GPU use Linux, WSL2 or Colab", "platform")
    if system == "Windows" and (not tf_ver or tf_ver > (2, 10, 99)):
        return Verdict("fail", "native Windows: TensorFlow newer than 2.10 has no GPU support "
                       "there", "use WSL2: wsl --install -d Ubuntu, then run setup/ubuntu.sh "
                       "inside it (the Windows NVIDIA driver serves WSL2)", "platform")
    return None


def _driver_verdict(wsl: bool, driver: DriverInfo | None, driver_reasons: list[str],
                    environ: Mapping[str, str]) -> Verdict | None:
    if driver is None:
        fix = ("install the NVIDIA driver: Ubuntu: sudo ubuntu-drivers install && sudo reboot;"
               " other Linux: your distribution's nvidia driver package")
        if wsl:
            fix = ("install the NVIDIA driver on Windows (not inside WSL2) from "
                   "nvidia.com/drivers, then run wsl --shutdown")
        fix += ("\nno NVIDIA GPU on this machine? use the CPU variant: --variant cpu "
                "(or --no-expect-gpu)")
        return Verdict("fail", "no NVIDIA driver: " + "; ".join(driver_reasons), fix, "driver")
    if not driver.gpus:
        return Verdict("fail", f"driver {driver.driver_version} loaded but it sees no GPU",
                       "check that the GPU is enabled (nvidia-smi) and not passed to a VM",
                       "driver")
    cvd = environ.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip() in ("", "-1"):
        return Verdict("fail", f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU",
                       "unset CUDA_VISIBLE_DEVICES (or set it to 0)", "runtime")
    return None


def _build_verdict(driver: DriverInfo, build: BuildInfo | None) -> Verdict | None:
    if build is None:
        return None
    if not build.is_cuda_build:
        return Verdict("fail", f"TensorFlow {build.tf_version} is a CPU-only build "
                       "(tensorflow-cpu, or a platform without CUDA wheels)",
                       "install the GPU variant's lock: envs/gpu/requirements.txt "
                       "(tensorflow[and-cuda])", "build")
    if build.cuda_version and driver.cuda_version:
        need, have = _ver(build.cuda_version)[:2], _ver(driver.cuda_version)[:2]
        if have < need:
            mind = min_driver_for(build.cuda_version)
            return Verdict("fail", f"driver {driver.driver_version} supports CUDA up to "
                           f"{driver.cuda_version}, but TensorFlow {build.tf_version} was "
                           f"built with CUDA {build.cuda_version}: the driver is too old",
                           f"upgrade the NVIDIA driver to {mind or 'a newer release'} or "
                           "newer (Ubuntu: sudo ubuntu-drivers install), then reboot",
                           "driver")
    return None


def _runtime_verdict(runtime: RuntimeInfo | None, environ: Mapping[str, str]) -> Verdict:
    if runtime is not None and runtime.missing_libraries:
        libs = ", ".join(runtime.missing_libraries)
        ld = environ.get("LD_LIBRARY_PATH", "")
        shadow = (f"; LD_LIBRARY_PATH={ld} may shadow the pip-installed CUDA libraries"
                  if ld else "")
        return Verdict("fail", f"TensorFlow could not load {libs}{shadow}",
                       "reinstall the GPU lock (its nvidia-* wheels carry CUDA and cuDNN): "
                       "uv pip sync --require-hashes envs/gpu/requirements.txt"
                       + ("; and unset LD_LIBRARY_PATH (or drop its CUDA folders)" if ld
                          else ""), "runtime")
    if runtime is not None and runtime.gpus and runtime.matmul_error:
        return Verdict("fail", f"GPU registered but a matmul on it failed: "
                       f"{runtime.matmul_error}", "check nvidia-smi for errors and that no "
                       "other process holds all GPU memory", "runtime")
    detail = (runtime.error if runtime and runtime.error else
              "; ".join(runtime.log_problems[:3]) if runtime and runtime.log_problems else
              "no reason in TensorFlow's log")
    return Verdict("fail", f"TensorFlow registers no GPU ({detail})",
                   "run python -m verify --only gpu --verbose for TensorFlow's full log",
                   "runtime")


def diagnose(*, expect_gpu: bool, system: str, wsl: bool, driver: DriverInfo | None,
             driver_reasons: list[str], build: BuildInfo | None,
             runtime: RuntimeInfo | None, environ: Mapping[str, str]) -> Verdict:
    """Where the chain platform -> driver -> build -> runtime breaks, and the fix. Pure."""
    gpus = runtime.gpus if runtime else []
    if gpus and runtime is not None and not runtime.matmul_error:
        return Verdict("pass", f"{len(gpus)} GPU(s) usable by TensorFlow; matmul ran on "
                       f"{runtime.matmul_device or gpus[0]}")
    if not expect_gpu:
        seen = (f"driver {driver.driver_version} with {len(driver.gpus)} GPU(s) present, "
                "unused by the CPU variant" if driver else "no NVIDIA driver")
        return Verdict("pass", f"CPU only, as the variant expects ({seen})")
    verdict = (_platform_verdict(system, build)
               or _driver_verdict(wsl, driver, driver_reasons, environ))
    if verdict is None and driver is not None:
        verdict = _build_verdict(driver, build)
    return verdict or _runtime_verdict(runtime, environ)


def as_dict(obj: Any) -> Any:
    return asdict(obj) if obj is not None else None
