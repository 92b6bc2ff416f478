"""The notebook as a newcomer runs it: copied to their own folder (examples/open_notebook.py),
opened, run and saved through JupyterLab's own server (jupyter_server from the environment,
driven by its REST and kernel APIs: tests/examples/lab_session.py), in a kernel setup
registered. The checkout stays as committed; the page shows no TensorFlow log and no warning.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from envs.contract import kernel

REPO = Path(__file__).resolve().parents[2]
OPEN = REPO / "examples" / "open_notebook.py"
DRIVER = Path(__file__).with_name("lab_session.py")
TF_NOISE = ("E0000", "I0000", "W0000", "absl::InitializeLog", "oneDNN", "cpu_feature_guard")

pytestmark = pytest.mark.slow


def _git_status() -> str:
    return subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--ignored=no"],
                          capture_output=True, text=True, check=True).stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, token: str, server: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            request = urllib.request.Request(f"{url}/api/status",
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("jupyter_server did not answer within 120 s")


@pytest.fixture
def lab_env(cpu_env, tmp_path: Path) -> dict[str, str]:
    """A newcomer's account: a fresh HOME and Jupyter folders; no TF_CPP_MIN_LOG_LEVEL."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "JUPYTER_PATH", "PYTHONPATH")}
    env.update({"HOME": str(home), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
                "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
                "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
                "KERAS_HOME": str(tmp_path / "keras-home"), "KERASUP_OFFLINE": "1",
                "KERASUP_EPOCHS": "1", "JUPYTER_TOKEN": secrets.token_hex(16)})
    return env


def test_notebook_run_and_saved_in_jupyterlab_leaves_the_checkout_clean(
        cpu_env, mnist_t10k: Path, lab_env: dict[str, str], tmp_path: Path) -> None:
    before = _git_status()
    python = str(cpu_env.python)
    name = kernel.kernel_name("cpu", cpu_env.prefix, default=False)
    display = kernel.display_name("3.12", "cpu", default=False, prefix=cpu_env.prefix)
    subprocess.run(kernel.register_argv(python, name, display), env=lab_env, check=True,
                   capture_output=True)
    folder = Path(lab_env["HOME"]) / "kerasup-notebooks"
    copied = subprocess.run([python, str(OPEN), "--data", str(mnist_t10k)], env=lab_env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert f"kernel: {display} ({name})" in copied.stdout
    assert f"open it: jupyter lab {folder / 'mnist_dense.ipynb'}" in copied.stdout
    again = subprocess.run([python, str(OPEN)], env=lab_env, capture_output=True, text=True)
    assert "your copy is already at" in again.stdout  # an existing copy is never overwritten

    url, token = f"http://127.0.0.1:{_free_port()}", lab_env["JUPYTER_TOKEN"]
    log = tmp_path / "server.log"
    root = ["--allow-root"] if os.geteuid() == 0 else []  # jupyter_server refuses root else
    with log.open("w") as sink:
        server = subprocess.Popen(
            [python, "-m", "jupyter_server", "--no-browser", f"--port={url.rsplit(':', 1)[1]}",
             "--ip=127.0.0.1", f"--ServerApp.root_dir={folder}", *root],
            env=lab_env, stdout=sink, stderr=sink, text=True)
    try:
        _wait_for(url, token, server, log)
        ran = subprocess.run([python, str(DRIVER), url, token, "mnist_dense.ipynb",
                              lab_env["JUPYTER_RUNTIME_DIR"]], env=lab_env,
                             capture_output=True, text=True, timeout=1200)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:] + log.read_text()[-4000:]
    assert json.loads(ran.stdout.splitlines()[-1])["kernel"] == name

    saved = nbformat.read(folder / "mnist_dense.ipynb", as_version=4)
    assert saved.metadata["kernelspec"]["name"] == name
    outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], outputs
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    for noise in (*TF_NOISE, "Warning"):
        assert noise not in stderr, stderr
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"data={mnist_t10k}" in text and "Predicted digit: 4; actual digit: 4" in text
    metrics = json.loads((folder / "out" / "mnist_dense_notebook" / "metrics.json").read_text())
    assert metrics["is_mnist"] is True and metrics["epochs"] == 1
    # The checkout: as it was, and no checkpoints beside the committed notebook.
    assert _git_status() == before
    assert not (REPO / "examples" / ".ipynb_checkpoints").exists()
