"""verify/mnist_data.py: every data source, on real files (real MNIST digits where it matters)."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from verify.mnist_data import (
    KERAS_MNIST_SHA256,
    MnistDataError,
    keras_cache_path,
    load_mnist,
    read_idx,
    synthetic_digits,
)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERASUP_OFFLINE", "1")


def test_t10k_directory_is_split_into_disjoint_train_and_test(mnist_t10k: Path) -> None:
    data = load_mnist(mnist_t10k)
    assert data.is_mnist
    assert data.x_train.shape == (8_000, 28, 28) and data.x_test.shape == (2_000, 28, 28)
    # The shared README: the first test label is 7 and these are the class counts.
    assert data.y_train[0] == 7
    counts = np.bincount(np.concatenate([data.y_train, data.y_test]), minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert "8,000" in data.notes[0]


def test_uncompressed_idx_and_full_train_set_are_read(mnist_t10k: Path, tmp_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        raw = gzip.decompress((mnist_t10k / f"{name}.gz").read_bytes())
        (tmp_path / name).write_bytes(raw)
        # Stand the test set in for a training set too, so the no-split branch runs.
        (tmp_path / name.replace("t10k", "train")).write_bytes(raw)
    data = load_mnist(tmp_path)
    assert len(data.x_train) == len(data.x_test) == 10_000
    assert data.notes == []


def test_npz_file_round_trips(mnist_t10k: Path, tmp_path: Path) -> None:
    source = load_mnist(mnist_t10k)
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=source.x_train, y_train=source.y_train, x_test=source.x_test,
             y_test=source.y_test)
    data = load_mnist(npz)
    assert np.array_equal(data.x_test, source.x_test)
    assert data.source == f"data:{npz}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such file or directory"),
        (lambda p: p, "no t10k-images"),
        (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "not an .npz file"),
        (lambda p: (p / "mnist.npz").write_bytes(b"garbage") and p / "mnist.npz",
         "not a readable mnist.npz"),
    ],
)
def test_bad_data_path_gives_one_line_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(MnistDataError, match=message) as info:
        load_mnist(make(tmp_path))
    assert "\n" not in str(info.value)


def test_truncated_idx_file_is_refused(mnist_t10k: Path, tmp_path: Path) -> None:
    raw = gzip.decompress((mnist_t10k / "t10k-images-idx3-ubyte.gz").read_bytes())
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(raw[:-100])
    with pytest.raises(MnistDataError, match="truncated"):
        read_idx(bad, 0x00000803)
    with pytest.raises(MnistDataError, match="bad header"):
        read_idx(mnist_t10k / "t10k-labels-idx1-ubyte.gz", 0x00000803)


def test_corrupted_keras_cache_is_skipped_with_a_note(tmp_path: Path, offline: None) -> None:
    cache = keras_cache_path(tmp_path)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"half a download")
    data = load_mnist(keras_home=tmp_path)
    assert not data.is_mnist
    assert any("failed its sha256 check" in n and str(cache) in n for n in data.notes)
    assert cache.read_bytes() == b"half a download"  # never deletes the user's file


def test_keras_home_env_var_locates_the_cache(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_cache_path() == tmp_path / "datasets" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    assert keras_cache_path() == Path.home() / ".keras" / "datasets" / "mnist.npz"


def test_valid_cache_is_used_when_its_hash_matches(tmp_path: Path, offline: None) -> None:
    # A cache file is accepted only on the published sha256; prove the check is on the bytes.
    cache = keras_cache_path(tmp_path)
    cache.parent.mkdir(parents=True)
    shutil.copyfile(Path(np.__file__), cache)
    assert hashlib.sha256(cache.read_bytes()).hexdigest() != KERAS_MNIST_SHA256
    assert not load_mnist(keras_home=tmp_path).is_mnist


def test_offline_stand_in_is_labelled_and_deterministic(tmp_path: Path, offline: None) -> None:
    first = load_mnist(keras_home=tmp_path)
    second = load_mnist(keras_home=tmp_path)
    assert not first.is_mnist
    assert "NOT MNIST" in first.describe()
    assert any("KERASUP_OFFLINE" in n for n in first.notes)
    assert np.array_equal(first.x_train, second.x_train)
    assert set(np.unique(first.y_train)) == set(range(10))


def test_stand_in_is_learnable_by_a_linear_model() -> None:
    # Nearest class mean must beat chance by far, or the smoke model could not learn it.
    data = synthetic_digits(n_train=3_000, n_test=500)
    x_train = data.x_train.reshape(len(data.x_train), -1).astype(np.float32)
    x_test = data.x_test.reshape(len(data.x_test), -1).astype(np.float32)
    means = np.stack([x_train[data.y_train == d].mean(axis=0) for d in range(10)])
    predicted = np.argmin(((x_test[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    assert (predicted == data.y_test).mean() > 0.8
