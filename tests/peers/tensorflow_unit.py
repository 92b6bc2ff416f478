"""Our own equivalent of docker-stacks' TensorFlow unit check (jupyter/docker-stacks,
tests/by_image/tensorflow-notebook/units/unit_tensorflow.py, commit 82093869): TensorFlow
imports and computes on the CPU (a string tensor; the sum of a 1000x1000 random matrix), and on
the first GPU where one is visible; without a GPU that part is skipped, as there. Written here
from its description, not copied; run by ``nox -s peers`` in the environment."""

from __future__ import annotations

import math

import pytest
import tensorflow as tf


def test_a_string_tensor() -> None:
    assert tf.constant("Hello, TensorFlow").numpy() == b"Hello, TensorFlow"


def test_the_sum_of_a_random_matrix_on_the_cpu() -> None:
    with tf.device("/CPU:0"):
        total = tf.reduce_sum(tf.random.normal([1000, 1000]))
    assert total.shape == () and math.isfinite(float(total))
    assert "CPU" in total.device


def test_the_same_on_the_first_gpu() -> None:
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible: the GPU part is skipped, as docker-stacks' check does")
    with tf.device("/GPU:0"):
        total = tf.reduce_sum(tf.random.normal([1000, 1000]))
    assert math.isfinite(float(total)) and "GPU" in total.device
