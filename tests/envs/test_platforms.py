"""envs/lock/platforms.py: the target table, wheel tags, refusals."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from envs.contract.errors import LockError
from envs.contract.facts import VARIANTS
from envs.contract.platforms import PLATFORMS, refusal
from envs.lock.platforms import CUDA_VERSION, TARGETS, best_wheel, targets_for


def test_glibc_baseline_is_2_28():
    tags = set(TARGETS["linux-64"].wheel_tags("3.12"))
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") in tags
    assert Tag("cp312", "cp312", "manylinux2014_x86_64") in tags
    assert Tag("cp312", "cp312", "manylinux_2_31_x86_64") not in tags
    assert Tag("cp312", "cp312", "musllinux_1_2_x86_64") not in tags
    aarch = set(TARGETS["linux-aarch64"].wheel_tags("3.11"))
    assert Tag("cp311", "cp311", "manylinux_2_27_aarch64") in aarch
    assert Tag("cp311", "cp311", "manylinux_2_17_x86_64") not in aarch


def test_macos_baseline_is_12_on_apple_silicon():
    tags = set(TARGETS["osx-arm64"].wheel_tags("3.13"))
    assert Tag("cp313", "cp313", "macosx_12_0_arm64") in tags
    assert Tag("cp313", "cp313", "macosx_11_0_universal2") in tags
    assert Tag("cp313", "cp313", "macosx_14_0_arm64") not in tags
    assert Tag("cp313", "cp313", "macosx_12_0_x86_64") not in tags


def test_pure_and_abi3_wheels_fit_everywhere():
    for target in TARGETS.values():
        tags = set(target.wheel_tags("3.13"))
        assert Tag("py3", "none", "any") in tags
        assert any(t.abi == "abi3" for t in tags)


def test_best_wheel_picks_what_pip_would():
    urls = ["https://x/n-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "https://x/n-1-cp312-cp312-manylinux_2_28_x86_64.whl",
            "https://x/n-1-cp312-cp312-manylinux_2_34_x86_64.whl",
            "https://x/n-1-py3-none-any.whl",
            "https://x/n-1.tar.gz"]
    assert best_wheel(urls, TARGETS["linux-64"], "3.12").endswith("manylinux_2_28_x86_64.whl")
    assert best_wheel(urls, TARGETS["win-64"], "3.12").endswith("py3-none-any.whl")
    assert best_wheel(urls[:3], TARGETS["win-64"], "3.12") is None


def test_marker_environments():
    marker = Marker("sys_platform == 'win32' and platform_machine == 'AMD64' and "
                    "python_version >= '3.12'")
    assert marker.evaluate(TARGETS["win-64"].marker_environment("3.12"))
    assert not marker.evaluate(TARGETS["win-64"].marker_environment("3.11"))
    assert not marker.evaluate(TARGETS["linux-64"].marker_environment("3.12"))
    assert TARGETS["osx-arm64"].marker_environment("3.12.13")["python_full_version"] == "3.12.13"


def test_virtual_packages_per_variant():
    assert TARGETS["linux-64"].virtual_packages_for("gpu")["__cuda"] == CUDA_VERSION
    assert "__cuda" not in TARGETS["linux-64"].virtual_packages_for("cpu")
    assert TARGETS["linux-64"].virtual_packages_for("cpu")["__glibc"] == "2.28"
    assert TARGETS["osx-arm64"].virtual_packages_for("cpu")["__osx"] == "12.0"
    assert "__win" in TARGETS["win-64"].virtual_packages_for("cpu")


@pytest.mark.parametrize(("variant", "platform", "reason"), [
    ("cpu", "osx-64", "after 2.16"),
    ("gpu", "osx-64", "after 2.16"),
    ("gpu", "win-64", "since 2.10"),
    ("gpu", "osx-arm64", "needs CUDA"),
    ("cpu", "linux-ppc64le", "no ppc64le"),
    ("cpu", "linux-s390x", "unknown platform"),
    ("tpu", "linux-64", "unknown variant"),
])
def test_refusals(variant, platform, reason):
    with pytest.raises(LockError, match=reason) as info:
        targets_for(variant, [platform])
    assert "\n" not in str(info.value)


def test_targets_are_keyed_by_contract_platforms():
    """The lock step's wheel-tag table names only platforms the contract knows, and the
    contract's refusals are the only ones: every target is lockable for some variant."""
    assert set(TARGETS) <= set(PLATFORMS)
    for name, target in TARGETS.items():
        assert target.subdir == name
        assert any(refusal(v, name) is None for v in VARIANTS)
    refused = [p for p in PLATFORMS if all(refusal(v, p) for v in VARIANTS)]
    assert not set(refused) & set(TARGETS)
