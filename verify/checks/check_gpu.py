"""GPU: the NVIDIA driver, TensorFlow's CUDA build, and whether TensorFlow can use a GPU."""

from __future__ import annotations

import os
import platform

from verify.gpu import (
    BuildInfo,
    RuntimeInfo,
    as_dict,
    diagnose,
    probe_build,
    probe_driver,
    probe_runtime,
    probe_runtime_subprocess,
)
from verify.keras_config import import_failure_fix
from verify.machine import Context, is_wsl
from verify.plugin import Recorder


def test_gpu(check: Recorder, context: Context) -> None:
    system, wsl = platform.system(), is_wsl()
    driver, reasons = probe_driver()
    check.detail("expect_gpu", context.expect_gpu)
    check.detail("driver", as_dict(driver) or {"found": False, "reasons": reasons})
    build: BuildInfo | None = None
    runtime: RuntimeInfo | None = None
    check.phase("importing TensorFlow")
    try:
        build = probe_build()
    except Exception as exc:  # TensorFlow itself does not import: say so, do not crash
        check.detail("build", {"error": f"{type(exc).__name__}: {exc}"})
        check.fail(f"import tensorflow failed: {type(exc).__name__}: "
                   f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}",
                   import_failure_fix(exc))
    check.detail("build", as_dict(build))
    check.phase("asking TensorFlow which GPUs it can use")
    if context.expect_gpu and driver is not None:
        runtime, log = probe_runtime_subprocess()
        if log:
            check.detail("tensorflow_log", log[-4000:])
    else:
        runtime = probe_runtime()
    check.detail("runtime", as_dict(runtime))
    verdict = diagnose(expect_gpu=context.expect_gpu, system=system, wsl=wsl, driver=driver,
                       driver_reasons=reasons, build=build, runtime=runtime,
                       environ=os.environ)
    check.detail("breaks_at", verdict.layer)
    if verdict.status == "fail":
        check.problem(verdict.summary, verdict.fix)
    elif verdict.status == "warn":
        check.warning(verdict.summary, verdict.fix)
    cuda = f"; TF built with CUDA {build.cuda_version}" if build and build.cuda_version else ""
    check.info(verdict.summary + cuda)
