"""Real operating-system fixtures shared by the test areas: a tiny tmpfs (full or read-only
disks, as root) and a program run on a real pseudo-terminal."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

__all__ = ["pty_chunks", "tmpfs"]


@contextlib.contextmanager
def tmpfs(where: Path, options: str = "size=64k") -> Iterator[Path]:
    """A real tmpfs mounted at ``where`` with ``options`` (root only), always unmounted."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def pty_chunks(argv: Sequence[str], env: dict[str, str], *, cwd: Path | None = None,
               timeout: float = 900, answer: bytes | None = None, prompt: str = "[y/N]",
               ) -> tuple[list[tuple[float, str]], int]:
    """Run ``argv`` on a real pty: what it wrote, chunk by chunk with the seconds since the
    start, and its exit status. ``answer`` is typed once, when ``prompt`` has appeared."""
    main, child = pty.openpty()
    t0 = time.monotonic()
    proc = subprocess.Popen(list(argv), stdin=child, stdout=child, stderr=child, env=env,
                            cwd=cwd, close_fds=True)
    os.close(child)
    chunks: list[tuple[float, str]] = []
    try:
        while time.monotonic() - t0 < timeout:
            ready, _, _ = select.select([main], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - t0, data.decode("utf-8", errors="replace")))
            if answer is not None and prompt in "".join(c for _, c in chunks):
                os.write(main, answer)
                answer = None
    finally:
        os.close(main)
    return chunks, proc.wait(timeout=60)
