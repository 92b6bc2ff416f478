"""MNIST for the smoke model and the examples, from the best source this machine has.

Order: an explicit ``data`` path (an IDX directory or an ``mnist.npz``), the Keras cache
(checked against its published sha256), a download into that cache, and last a clearly
labelled synthetic stand-in that still trains for real but is not MNIST.

Only the standard library and numpy are used, so loading data never imports TensorFlow.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.contract import flags, keras_json
from envs.contract.errors import UsageError
from envs.contract.fileio import file_sha256, write_atomic

__all__ = [
    "KERAS_MNIST_SHA256",
    "KERAS_MNIST_URL",
    "MnistData",
    "MnistDataError",
    "keras_cache_path",
    "load_mnist",
]

log = logging.getLogger(__name__)

# The file and checksum keras.datasets.mnist.load_data() uses.
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

# The stand-in's own note, and what gets real digits instead.
STAND_IN_NOTE = "no MNIST available: trained on a synthetic stand-in"
STAND_IN_FIX = "for real digits: go online once, or pass --data DIR, or put mnist.npz in the " \
    "Keras cache"

# An IDX directory holding only the 10,000-digit test set is split like this.
T10K_TRAIN = 8_000

_IDX_MAGIC_IMAGES = 0x00000803
_IDX_MAGIC_LABELS = 0x00000801


class MnistDataError(Exception):
    """A data source the user named cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class MnistData:
    """Images as uint8 arrays of shape (n, 28, 28), labels as uint8 arrays of shape (n,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    is_mnist: bool
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: where the data came from and how much of it there is."""
        where = (f"MNIST from {self.source}" if self.is_mnist
                 else "a synthetic stand-in (NOT MNIST)")
        return f"{where}: {len(self.x_train):,} train / {len(self.x_test):,} test images"

    @property
    def stand_in_reason(self) -> str | None:
        """For the stand-in: why no MNIST was used, in one plain sentence; else None."""
        if self.is_mnist:
            return None
        why = "; ".join(n for n in self.notes if not n.startswith(STAND_IN_NOTE)) or \
            "no MNIST was found"
        return f"synthetic stand-in, NOT MNIST, because: {why} ({STAND_IN_FIX})"


def keras_cache_path(keras_home: Path | None = None) -> Path:
    """Where Keras caches mnist.npz: ``datasets/`` in Keras' folder
    (:func:`envs.contract.keras_json.keras_home`: ``$KERAS_HOME``, else ``~/.keras``, or
    ``/tmp/.keras`` when home is not writable)."""
    if keras_home is None:
        keras_home = keras_json.keras_home()
    return keras_home / "datasets" / "mnist.npz"


def load_mnist(
    data: Path | None = None,
    *,
    keras_home: Path | None = None,
    download: bool = True,
    timeout: float = 10.0,
    stand_in_train: int = 12_000,
) -> MnistData:
    """Load MNIST from ``data``, the Keras cache, a download, or the stand-in, in that order.

    ``data`` is authoritative: if it is given and unusable, MnistDataError is raised rather
    than silently falling back. Downloads are skipped when ``KERASUP_OFFLINE=1``.
    ``stand_in_train``: how many training images the stand-in draws (only what is used).
    """
    if data is not None:
        return _load_path(Path(data))

    notes: list[str] = []
    cache = keras_cache_path(keras_home)
    if cache.is_file():
        digest = file_sha256(cache)
        if digest == KERAS_MNIST_SHA256:
            return _with_notes(_load_npz(cache, source=f"keras-cache:{cache}"), notes)
        notes.append(f"Keras cache {cache} failed its sha256 check (corrupted or partial "
                     f"download), ignored; delete it: rm '{cache}'")

    try:
        offline = flags.offline(os.environ)  # parsed one way, as setup and the lock step do
    except UsageError as exc:
        raise MnistDataError(exc.one_line()) from None
    if download and not offline:
        try:
            _download(cache, timeout)
            return _with_notes(_load_npz(cache, source=f"download:{KERAS_MNIST_URL}"), notes)
        except (OSError, urllib.error.URLError, MnistDataError) as exc:
            notes.append(f"download of {KERAS_MNIST_URL} failed ({_reason(exc)})")
    elif offline:
        notes.append("download skipped (KERASUP_OFFLINE is set)")

    return _with_notes(synthetic_digits(n_train=stand_in_train), notes)


def _with_notes(found: MnistData, notes: list[str]) -> MnistData:
    return MnistData(found.x_train, found.y_train, found.x_test, found.y_test,
                     found.source, found.is_mnist, [*notes, *found.notes])


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


def _download(cache: Path, timeout: float) -> None:
    """Fetch mnist.npz (11 MB) into the cache; only a file with the right sha256 lands
    there, atomically (``envs.contract.fileio.write_atomic``)."""
    with urllib.request.urlopen(KERAS_MNIST_URL, timeout=timeout) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != KERAS_MNIST_SHA256:
        raise MnistDataError("downloaded file failed its sha256 check")
    write_atomic(cache, data)


def _load_path(path: Path) -> MnistData:
    if path.is_dir():
        return _load_idx_dir(path)
    if path.is_file() and path.suffix == ".npz":
        return _load_npz(path, source=f"data:{path}")
    if path.is_file():
        raise MnistDataError(f"--data {path}: not an .npz file; pass mnist.npz or a directory "
                             "of IDX files (train-images-idx3-ubyte.gz, ...)")
    raise MnistDataError(f"--data {path}: no such file or directory; pass mnist.npz or a "
                         "directory of MNIST IDX files")


def _load_npz(path: Path, *, source: str) -> MnistData:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [np.asarray(npz[k]) for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, KeyError) as exc:
        raise MnistDataError(f"{path}: not a readable mnist.npz ({exc}); delete it or pass "
                             "another file") from exc
    return _validated(*arrays, source=source, where=path)


def _find_idx(directory: Path, stem: str) -> Path | None:
    # Accept the original names, with or without .gz, and the common "images.idx3" spelling.
    for pattern in (f"{stem}-idx?-ubyte", f"{stem}-idx?-ubyte.gz", f"{stem}.idx?-ubyte",
                    f"{stem}.idx?-ubyte.gz"):
        hits = sorted(directory.glob(pattern))
        if hits:
            return hits[0]
    return None


def _load_idx_dir(directory: Path) -> MnistData:
    names = {stem: _find_idx(directory, stem) for stem in
             ("train-images", "train-labels", "t10k-images", "t10k-labels")}
    have_test = names["t10k-images"] and names["t10k-labels"]
    have_train = names["train-images"] and names["train-labels"]
    if not have_test:
        raise MnistDataError(f"--data {directory}: no t10k-images-idx3-ubyte[.gz] and "
                             "t10k-labels-idx1-ubyte[.gz] there; pass the folder that holds "
                             "the MNIST IDX files")
    x_test = read_idx(names["t10k-images"], _IDX_MAGIC_IMAGES)  # type: ignore[arg-type]
    y_test = read_idx(names["t10k-labels"], _IDX_MAGIC_LABELS)  # type: ignore[arg-type]
    if have_train:
        x_train = read_idx(names["train-images"], _IDX_MAGIC_IMAGES)  # type: ignore[arg-type]
        y_train = read_idx(names["train-labels"], _IDX_MAGIC_LABELS)  # type: ignore[arg-type]
        return _validated(x_train, y_train, x_test, y_test, source=f"data:{directory}",
                          where=directory)
    # Only the test set is present: split it so training and held-out data stay disjoint.
    found = _validated(x_test[:T10K_TRAIN], y_test[:T10K_TRAIN], x_test[T10K_TRAIN:],
                       y_test[T10K_TRAIN:], source=f"data:{directory}", where=directory)
    note = (f"only the 10,000-digit test set found: first {T10K_TRAIN:,} used to train, "
            f"last {len(x_test) - T10K_TRAIN:,} held out")
    return MnistData(found.x_train, found.y_train, found.x_test, found.y_test, found.source,
                     True, [note])


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) whose header has the given magic."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise MnistDataError(f"{path}: unreadable ({exc}); re-download the MNIST files") from exc
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        raise MnistDataError(f"{path}: not an MNIST IDX file (bad header); re-download it")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise MnistDataError(f"{path}: truncated ({len(raw) - offset:,} of {expected:,} bytes); "
                             "re-download it")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _validated(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
               y_test: np.ndarray, *, source: str, where: Path) -> MnistData:
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y) or len(x) == 0:
            raise MnistDataError(f"{where}: {part} images have shape {x.shape} and "
                                 f"{len(y)} labels, not (n, 28, 28) with n labels; "
                                 "re-download the data")
        if y.min() < 0 or y.max() > 9:
            raise MnistDataError(f"{where}: {part} labels outside 0-9; re-download the data")
    return MnistData(x_train.astype(np.uint8), y_train.astype(np.uint8),
                     x_test.astype(np.uint8), y_test.astype(np.uint8), source, True)


def synthetic_digits(n_train: int = 12_000, n_test: int = 2_000, seed: int = 0) -> MnistData:
    """A learnable 10-class stand-in shaped like MNIST, for machines with no MNIST at all.

    Each class is three fixed random strokes; a sample may lose one, may gain a stroke of no
    class, and is shifted and noisy: the smoke model learns it (about 96%), not trivially.

    Vectorised, and drawn in blocks once every random number is taken in the original
    per-sample order: the same images as the per-image loop, about 6x faster and without a
    200 MiB float64 peak on top of TensorFlow's memory.
    """
    rng = np.random.default_rng(seed)
    strokes = _draw_strokes(rng.integers(6, 22, size=(30, 4))).reshape(10, 3, 28, 28)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, size=n)
        keep = rng.random((n, 3, 1, 1)) < 0.97
        extra_ends = rng.integers(6, 22, size=(n, 4))  # one stroke of no class per sample...
        extra_on = rng.random((n, 1, 1)) < 0.1  # ...drawn on one sample in ten
        shifts = rng.integers(-2, 3, size=(n, 2))
        scale = rng.uniform(0.6, 1.0, (n, 1, 1))
        out = np.empty((n, 28, 28), dtype=np.uint8)
        grid = np.arange(28)
        for lo in range(0, n, _BLOCK):
            hi = min(lo + _BLOCK, n)
            images = np.clip((strokes[labels[lo:hi]] * keep[lo:hi]).sum(axis=1), 0, 1)
            images = np.maximum(images, _draw_strokes(extra_ends[lo:hi]) * extra_on[lo:hi])
            rows = (grid[None, :] - shifts[lo:hi, :1]) % 28  # np.roll by the shift, all at once
            cols = (grid[None, :] - shifts[lo:hi, 1:]) % 28
            images = images[np.arange(hi - lo)[:, None, None], rows[:, :, None], cols[:, None, :]]
            noisy = images * scale[lo:hi] + rng.normal(0, 0.25, images.shape)
            out[lo:hi] = (np.clip(noisy, 0, 1) * 255).astype(np.uint8)
        return out, labels.astype(np.uint8)

    x_train, y_train = sample(n_train)
    x_test, y_test = sample(n_test)
    return MnistData(x_train, y_train, x_test, y_test, source="synthetic", is_mnist=False,
                     notes=[f"{STAND_IN_NOTE} that is NOT MNIST; {STAND_IN_FIX}"])


_BLOCK = 1_000  # samples per block: bounds the float64 temporaries to a few MiB


def _draw_strokes(ends: np.ndarray) -> np.ndarray:
    """One 3-pixel-thick straight stroke per row (r0, c0, r1, c1) of ``ends``, on 28x28.

    The points are ``np.linspace(r0, r1, steps).round()`` (and likewise for the columns),
    computed the way linspace does so that they are the same; shorter strokes repeat their
    last point, which draws nothing new.
    """
    r0, c0, r1, c1 = (ends[:, k] for k in range(4))
    last = (np.maximum(abs(r1 - r0), abs(c1 - c0)))[:, None]  # steps - 1
    j = np.minimum(np.arange(16)[None, :], last)  # at most 16 steps: ends lie in 6..21

    def line(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = j * ((b - a)[:, None] / np.maximum(last, 1)) + a[:, None]
        return np.where(j == last, b[:, None], y).round().astype(int)

    rows, cols = line(r0, r1), line(c0, c1)
    canvas = np.zeros((len(ends), 28, 28), dtype=np.float32)
    which = np.broadcast_to(np.arange(len(ends))[:, None], rows.shape)
    for dr in (-1, 0, 1):
        canvas[which, np.clip(rows + dr, 0, 27), cols] = 1.0
    return canvas
