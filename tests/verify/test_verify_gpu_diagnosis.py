"""Where the GPU chain breaks, from given driver/build/runtime facts (no GPU needed)."""

from __future__ import annotations

from verify.gpu import (
    BuildInfo,
    DriverInfo,
    RuntimeInfo,
    classify_tf_log,
    diagnose,
    min_driver_for,
)

CUDA_BUILD = BuildInfo("2.21.0", True, "12.5.1", "9")
DRIVER = DriverInfo("nvml", "560.35.03", "12.6", ["NVIDIA GeForce RTX 4090"])


def _diag(**kw):
    args = {"expect_gpu": True, "system": "Linux", "wsl": False, "driver": DRIVER,
            "driver_reasons": [], "build": CUDA_BUILD, "runtime": RuntimeInfo(),
            "environ": {}}
    args.update(kw)
    return diagnose(**args)


def test_cpu_variant_without_gpu_passes() -> None:
    v = _diag(expect_gpu=False, driver=None, build=BuildInfo("2.21.0", False))
    assert v.status == "pass" and "no NVIDIA driver" in v.summary


def test_working_gpu_passes() -> None:
    v = _diag(runtime=RuntimeInfo(gpus=["/physical_device:GPU:0"],
                                  matmul_device="/job:localhost/replica:0/task:0/device:GPU:0"))
    assert v.status == "pass" and "matmul ran on" in v.summary


def test_no_driver() -> None:
    v = _diag(driver=None, driver_reasons=["NVML: NVML Shared Library Not Found",
                                           "nvidia-smi is not on PATH"])
    assert (v.status, v.layer) == ("fail", "driver")
    assert v.summary.startswith("no NVIDIA driver: NVML")
    assert "ubuntu-drivers" in v.fix and "--variant cpu" in v.fix


def test_no_driver_under_wsl_points_at_the_windows_driver() -> None:
    v = _diag(driver=None, wsl=True)
    assert "on Windows (not inside WSL2)" in v.fix


def test_driver_too_old_for_tensorflows_cuda() -> None:
    v = _diag(driver=DriverInfo("nvml", "470.82.01", "11.4", ["Tesla T4"]))
    assert (v.status, v.layer) == ("fail", "driver")
    assert "too old" in v.summary and "CUDA 12.5.1" in v.summary
    assert "555.42.02" in v.fix


def test_missing_cuda_library_is_named() -> None:
    log = ("W0000 dso_loader.cc:78] Could not load dynamic library 'libcudnn.so.9'; "
           "dlerror: libcudnn.so.9: cannot open shared object file: No such file or directory\n"
           "W0000 gpu_device.cc:2344] Cannot dlopen some GPU libraries. Please make sure...\n")
    problems, missing, _ = classify_tf_log(log)
    v = _diag(runtime=RuntimeInfo(log_problems=problems, missing_libraries=missing),
              environ={"LD_LIBRARY_PATH": "/usr/local/cuda-11/lib64"})
    assert (v.status, v.layer) == ("fail", "runtime")
    assert "could not load libcudnn.so.9" in v.summary and "shadow" in v.summary
    assert "unset LD_LIBRARY_PATH" in v.fix


def test_native_windows_and_macos() -> None:
    assert "WSL2" in _diag(system="Windows").fix
    assert _diag(system="Windows", build=BuildInfo("2.10.1", True, "11.2", "8")).layer != \
        "platform"
    assert "macOS has no CUDA" in _diag(system="Darwin").summary


def test_cpu_only_tensorflow_in_the_gpu_variant() -> None:
    v = _diag(build=BuildInfo("2.21.0", False))
    assert (v.status, v.layer) == ("fail", "build") and "CPU-only" in v.summary


def test_cuda_visible_devices_hiding_gpus() -> None:
    assert "hides every GPU" in _diag(environ={"CUDA_VISIBLE_DEVICES": "-1"}).summary


def test_harmless_tensorflow_lines_do_not_count() -> None:
    log = "\n".join([
        "WARNING: All log messages before absl::InitializeLog() is called are written to "
        "STDERR",
        "I0000 port.cc:153] oneDNN custom operations are on. You may see slightly different "
        "results.",
        "I0000 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available "
        "CPU instructions in performance-critical operations.",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
        "TensorFlow with the appropriate compiler flags.",
        "E0000 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to register "
        "factory for plugin cuDNN when one has already been registered",
        "W0000 TF-TRT Warning: Could not find TensorRT",
        "E0000 cuda_executor.cc] failed call to cuInit: UNKNOWN ERROR (303)",
    ])
    problems, missing, harmless = classify_tf_log(log)
    assert (problems, missing, harmless) == ([], [], 7)


def test_real_problems_in_the_log_count() -> None:
    log = "E0000 cuda_executor.cc] failed call to cuInit: CUDA_ERROR_NO_DEVICE: no device\n"
    assert classify_tf_log(log)[0] == [log.strip()]


def test_min_driver_table() -> None:
    assert min_driver_for("12.5.1") == "555.42.02"
    assert min_driver_for("12.7") == "560.28.03"
    assert min_driver_for("11.8") == "520.61.05"
