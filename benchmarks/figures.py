"""The report's flat "figures" mapping, derived from its sections: name -> figure
(benchmarks.report.figure). One place names every figure, its unit, direction and target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.report import figure, missing

__all__ = ["TARGETS", "collect"]

# name -> (better, target); the targets, printed beside the figures.
TARGETS: dict[str, tuple[str, float]] = {
    "verify_over_import_wall": ("lower", 1.3),
    "verify_over_import_peak_rss": ("lower", 1.4),
    "smoke_fraction_of_floor": ("higher", 0.40),
    "setup_rerun_over_verify_wall": ("lower", 1.1),
    "setup_rerun_no_verify_wall_s": ("lower", 1.0),
    "pristine_green_over_plain_pip": ("lower", 1.0),  # beat pip, verification included
}
Figures = dict[str, dict[str, Any]]


def _fig(name: str, value: Any, unit: str, better: str = "lower", **extra: Any) -> Figures:
    target = TARGETS.get(name, (better, None))[1]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {name: figure(value, unit, better, target=target, **extra)}
    return {name: missing(unit, better, "not measured", target=target)}


def _absent(part: dict[str, Any], names: dict[str, tuple[str, str]]) -> Figures:
    """The section's figures when it did not run: each says why, with the section's status."""
    failed = part.get("status") == "failed"
    reason = f"{part.get('status')}: {part.get('reason', '')}".rstrip(": ")
    return {n: missing(unit, better, reason, target=TARGETS.get(n, (better, None))[1],
                       failed=failed) for n, (unit, better) in names.items()}


def _median(name: str, spread: dict[str, float], unit: str) -> Figures:
    """A median over runs, with the runs' min and max beside it."""
    return _fig(name, spread["median"], unit, min=spread["min"], max=spread["max"])


def _verify(part: dict[str, Any]) -> Figures:
    v, b = part["verify"], part["bare_import"]
    return {**_median("verify_wall_s", v["wall_s"], "s"),
            **_median("verify_peak_rss_mib", v["peak_rss_mib"], "MiB"),
            **_median("bare_import_wall_s", b["wall_s"], "s"),
            **_median("bare_import_peak_rss_mib", b["peak_rss_mib"], "MiB"),
            **_fig("verify_over_import_wall", part["wall_ratio_median"], "x"),
            **_fig("verify_over_import_peak_rss", part["rss_ratio_median"], "x")}


def _verify_full(part: dict[str, Any]) -> Figures:
    return _fig("verify_full_wall_s", part.get("seconds"), "s")


def _matmul(part: dict[str, Any]) -> Figures:
    from benchmarks.compute import peak_gflops

    return _fig("matmul_peak_gflops", peak_gflops(part), "GFLOP/s", "higher")


def _smoke(part: dict[str, Any]) -> Figures:
    return {**_fig("smoke_samples_per_s", part.get("samples_per_second"), "samples/s",
                   "higher"),
            **_fig("smoke_fraction_of_floor", part.get("fraction_of_floor"), "x", "higher")}


def _setup(part: dict[str, Any]) -> Figures:
    return {**_median("setup_rerun_wall_s", part["setup_rerun"]["wall_s"], "s"),
            **_fig("setup_rerun_over_verify_wall", part["wall_ratio_median"], "x"),
            **_fig("setup_rerun_no_verify_wall_s", part["no_verify_wall_s"]["median"], "s")}


def _env_create(part: dict[str, Any]) -> Figures:
    return {**_fig("env_create_uv_s", part.get("uv", {}).get("seconds"), "s"),
            **_fig("env_create_pip_s", part.get("pip", {}).get("seconds"), "s"),
            **_fig("env_create_pip_over_uv", part.get("pip_over_uv"), "x", "higher")}


def _lock(part: dict[str, Any]) -> Figures:
    relock = part.get("relock_cpu", {})
    return {**_fig("lock_check_s", part.get("check", {}).get("seconds"), "s"),
            **(_fig("lock_relock_cpu_s", relock.get("seconds"), "s")
               if relock.get("status") == "ok"
               else _absent(relock, {"lock_relock_cpu_s": ("s", "lower")}))}


def _tests(part: dict[str, Any]) -> Figures:
    return dict(part.get("figures", {}))


def _fleet(part: dict[str, Any]) -> Figures:
    return _fig("fleet_report_1000_hosts_s", part.get("total_s"), "s")


def _bundle(part: dict[str, Any]) -> Figures:
    return {**_fig("bundle_build_s", part.get("bundle_build_s"), "s"),
            **_fig("bundle_tar_gz_mb", part.get("bundle_tar_gz_mb"), "MB"),
            **_fig("bundle_install_s", part.get("bundle_install_s"), "s"),
            **_fig("bundle_install_over_floor", None if part.get("overhead_pct") is None
                   else 1 + part["overhead_pct"] / 100, "x")}


def _pristine(part: dict[str, Any]) -> Figures:
    return {**_fig("pristine_time_to_green_s", part.get("time_to_green_s"), "s"),
            **_fig("pristine_plain_pip_s", part.get("plain_pip_s"), "s"),
            **_fig("pristine_green_over_plain_pip", part.get("green_over_plain_pip"), "x")}


# section -> (figures when it ran, the figures' names/units/directions for when it did not)
SECTION_FIGURES: dict[str, tuple[Callable[[dict[str, Any]], Figures],
                                 dict[str, tuple[str, str]]]] = {
    "verify": (_verify, {"verify_over_import_wall": ("x", "lower"),
                         "verify_over_import_peak_rss": ("x", "lower")}),
    "verify_full": (_verify_full, {"verify_full_wall_s": ("s", "lower")}),
    "matmul": (_matmul, {"matmul_peak_gflops": ("GFLOP/s", "higher")}),
    "smoke": (_smoke, {"smoke_samples_per_s": ("samples/s", "higher"),
                       "smoke_fraction_of_floor": ("x", "higher")}),
    "setup_rerun": (_setup, {"setup_rerun_over_verify_wall": ("x", "lower"),
                             "setup_rerun_no_verify_wall_s": ("s", "lower")}),
    "env_create": (_env_create, {"env_create_pip_over_uv": ("x", "higher")}),
    "lock": (_lock, {"lock_check_s": ("s", "lower")}),
    "tests": (_tests, {}),
    "fleet_report": (_fleet, {"fleet_report_1000_hosts_s": ("s", "lower")}),
    "bundle": (_bundle, {"bundle_install_over_floor": ("x", "lower")}),
    "pristine": (_pristine, {"pristine_green_over_plain_pip": ("x", "lower")}),
}


def collect(report: dict[str, Any]) -> Figures:
    """Every section's figures, in section order; a section that did not run (or failed
    before its figures) contributes its key figures marked unavailable/failed with why."""
    out: Figures = {}
    for section, (derive, names) in SECTION_FIGURES.items():
        part = report.get(section)
        if part is None:
            continue
        usable = part.get("status") == "ok" or (section == "tests" and "figures" in part)
        if usable:
            out.update(derive(part))
        elif part.get("status") != "skipped":
            out.update(_absent(part, names))
    return out
