"""Steady-state training speed of the tutorial's network (:mod:`verify.tutorial`) on MNIST
(:mod:`verify.mnist_data`): seconds per epoch and samples per second. Prints one JSON object.

    python benchmarks/probes/smoke_train.py --epochs 4 --data ../shared/data/mnist-t10k
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# In a kerasup environment `verify` is importable; from a bare checkout, the toolkit root is.
if importlib.util.find_spec("verify") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from verify import tutorial
from verify.mnist_data import load_mnist

__all__ = ["main", "measure"]


def measure(data: Path | None, epochs: int) -> dict[str, Any]:
    """Train ``epochs`` epochs; the median epoch after the first (tracing) is the rate."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    mnist = load_mnist(data, download=False)
    x, y = tutorial.flatten(mnist.x_train), tutorial.one_hot(mnist.y_train, keras)
    keras.utils.set_random_seed(tutorial.SEED)
    model = tutorial.build_model(keras)
    times: list[float] = []

    class Timer(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            times.append(time.perf_counter() - self.started)

    tutorial.fit(model, x, y, epochs=epochs, verbose=0, callbacks=[Timer()])
    steady = sorted(times[1:])[len(times[1:]) // 2]
    return {"samples": len(x), "epochs": epochs, "batch_size": tutorial.BATCH_SIZE,
            "source": mnist.source, "is_mnist": mnist.is_mnist,
            "epoch_seconds": [round(t, 3) for t in times],
            "samples_per_second": len(x) / steady, "params": model.count_params()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is not counted)")
    print(json.dumps(measure(args.data, args.epochs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
