"""The uv wheel a bundle carries for each target platform, as a lock entry: the contract's
platform table holds the pinned uv's wheel per platform (envs.contract.platforms.UvWheel)."""

from __future__ import annotations

from envs.contract.platforms import PLATFORMS, UV_VERSION
from envs.contract.pylock import LockedWheel

__all__ = ["UV_VERSION", "uv_wheel"]


def uv_wheel(platform: str) -> LockedWheel:
    """The pinned uv wheel for conda platform ``platform`` (KeyError for an unknown one)."""
    uv = PLATFORMS[platform].uv
    if uv is None:
        raise KeyError(platform)
    return LockedWheel("uv", UV_VERSION, uv.filename, uv.url, uv.size, uv.sha256)
