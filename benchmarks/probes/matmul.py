"""float32 matrix-multiply GFLOP/s with numpy and TensorFlow: an n x n square product and the
tutorial's first layer, (128 x 784) @ (784 x 512). Prints one JSON object.

    python benchmarks/probes/matmul.py --n 2048 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["best_seconds", "main", "measure"]

BATCH, INPUTS, HIDDEN = 128, 784, 512  # the tutorial's first Dense layer at batch 128


def best_seconds(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` timed calls, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(n: int, repeat: int) -> dict[str, Any]:
    """GFLOP/s of numpy and (when importable) TensorFlow, square and layer-shaped."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    x = rng.standard_normal((BATCH, INPUTS), dtype=np.float32)
    w = rng.standard_normal((INPUTS, HIDDEN), dtype=np.float32)
    square, layer = 2 * n**3, 2 * BATCH * INPUTS * HIDDEN
    out: dict[str, Any] = {
        "n": n, "numpy": np.__version__, "cpu_count": os.cpu_count(),
        "numpy_gflops": square / best_seconds(lambda: a @ b, repeat) / 1e9,
        "numpy_layer_gflops": layer / best_seconds(lambda: x @ w, repeat) / 1e9,
    }
    try:
        import tensorflow as tf
    except ImportError as exc:
        out["tf_error"] = str(exc)
        return out
    ta, tb, tx, tw = (tf.constant(v) for v in (a, b, x, w))
    out["tensorflow"] = tf.__version__
    out["tf_gflops"] = square / best_seconds(
        lambda: tf.linalg.matmul(ta, tb).numpy(), repeat) / 1e9
    out["tf_layer_gflops"] = layer / best_seconds(
        lambda: tf.linalg.matmul(tx, tw).numpy(), repeat) / 1e9
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.n, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
