"""MNIST loaded by a child process and handed over on its stdout.

Reading and unpacking the digits, trying the download and drawing the stand-in are
TensorFlow-free work: the mnist check has a child (verify.child) do them while TensorFlow
imports. ``python -m verify.mnist_child [--data PATH] [--stand-in-train N]`` runs
:func:`verify.mnist_data.load_mnist` and writes one JSON line (source, is_mnist, notes) and
then the four arrays in NumPy's ``.npy`` format; a source the user named that cannot be used
is one line on stderr and exit status 3.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from verify.child import run_module
from verify.mnist_data import MnistData, MnistDataError, load_mnist

__all__ = ["load_mnist_in_child"]

DATA_ERROR = 3
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _write(data: MnistData, out: BinaryIO) -> None:
    out.write(json.dumps({"source": data.source, "is_mnist": data.is_mnist,
                          "notes": data.notes}).encode("ascii") + b"\n")
    for name in _ARRAYS:
        np.lib.format.write_array(out, np.ascontiguousarray(getattr(data, name)),
                                  allow_pickle=False)


def _read(raw: bytes) -> MnistData:
    stream = io.BytesIO(raw)
    meta = json.loads(stream.readline())
    arrays = [np.lib.format.read_array(stream, allow_pickle=False) for _ in _ARRAYS]
    return MnistData(*arrays, source=str(meta["source"]), is_mnist=bool(meta["is_mnist"]),
                     notes=[str(n) for n in meta["notes"]])


def load_mnist_in_child(data: Path | None = None, *, stand_in_train: int = 12_000,
                        timeout: float = 600) -> MnistData:
    """:func:`verify.mnist_data.load_mnist` (its defaults otherwise) run by a child process;
    MnistDataError as load_mnist raises it; in this process when the child cannot say."""
    args = ["--stand-in-train", str(stand_in_train)]
    if data is not None:
        args += ["--data", str(data)]
    done = run_module("verify.mnist_child", args, timeout=timeout)
    if done is not None and done.returncode == DATA_ERROR and done.stderr.strip():
        raise MnistDataError(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1])
    if done is not None and done.returncode == 0:
        try:
            return _read(done.stdout)
        except (ValueError, KeyError, TypeError, OSError):
            pass
    return load_mnist(data, stand_in_train=stand_in_train)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify.mnist_child")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--stand-in-train", type=int, default=12_000)
    args = parser.parse_args(argv)
    try:
        found = load_mnist(args.data, stand_in_train=args.stand_in_train)
    except MnistDataError as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        return DATA_ERROR
    out = io.BytesIO()
    _write(found, out)
    sys.stdout.buffer.write(out.getbuffer())
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
