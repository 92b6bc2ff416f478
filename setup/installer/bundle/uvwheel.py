"""The uv wheel a bundle carries for each target platform: uv's pinned version with the
sha256 of each platform's wheel (each is one of setup/tools-requirements.txt's hashes; a test
holds them to it)."""

from __future__ import annotations

from envs.contract.pylock import LockedWheel

__all__ = ["UV_VERSION", "uv_wheel"]

UV_VERSION = "0.13.9"
_FILES = "https://files.pythonhosted.org/packages/"
_WHEELS: dict[str, tuple[str, str, int, str]] = {
    # platform: (url path under files.pythonhosted.org/packages/, file tags, size, sha256)
    "linux-64": ("3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f",
                 "manylinux_2_17_x86_64.manylinux2014_x86_64", 17606939,
                 "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19"),
    "linux-aarch64": ("57/15/94b6cd62ac3ff6550288328e8035288875197cbc183f51554b266a69877b",
                      "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64",
                      18026789,
                      "5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe"),
    "osx-arm64": ("f3/a7/a8d7b074798c7fb3b26b37584b8fe2e29df2ccdc24ce7902caab2a53edbf",
                  "macosx_11_0_arm64", 14660755,
                  "66c512266d633bef48384a1f53003f41f2a8e7b36fe6e7fbfd3e0fd52d96fa63"),
    "win-64": ("dd/ef/ceeabf3631117f7354787d9fb1ffe943899e59ed4b887a696ed547e47e76",
               "win_amd64", 15662317,
               "6a44b2ed8111d2f60d2b92627c5dccda3f7ed7570b18ce115e569cd68c28246b"),
}


def uv_wheel(platform: str) -> LockedWheel:
    """The pinned uv wheel for conda platform ``platform`` (KeyError for an unknown one)."""
    path, tags, size, sha = _WHEELS[platform]
    filename = f"uv-{UV_VERSION}-py3-none-{tags}.whl"
    return LockedWheel("uv", UV_VERSION, filename, f"{_FILES}{path}/{filename}", size, sha)
