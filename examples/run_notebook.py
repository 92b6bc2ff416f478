"""Execute a notebook headless with a given environment's Python as its kernel.

Used by ``nox -s examples`` and by the tests: the notebook runs in the locked environment
(which has ipykernel), while this driver runs wherever nbclient is installed. Parameters
reach the notebook as environment variables (``KERASUP_DATA``, ``KERASUP_EPOCHS``,
``KERASUP_OUT``) through the kernel's spec, so nothing leaks into this process.

    python examples/run_notebook.py --python .nox/verify-env/bin/python \\
        --data DIR --epochs 2 --out out/notebook   # --data only offline
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

__all__ = ["KERNEL_NAME", "NOTEBOOK", "execute_notebook", "main", "write_kernelspec"]

NOTEBOOK = Path(__file__).resolve().parent / "mnist_dense.ipynb"
KERNEL_NAME = "kerasup-env"


def write_kernelspec(directory: Path, python: Path, env: Mapping[str, str]) -> Path:
    """Write a kernelspec that starts ipykernel with `python` and `env`; return its folder."""
    spec_dir = directory / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"kerasup ({python})",
        "language": "python",
        "env": dict(env),
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


def execute_notebook(
    notebook: Path, *, python: Path, env: Mapping[str, str], cwd: Path | None = None,
    timeout: int = 600, executed: Path | None = None,
) -> nbformat.NotebookNode:
    """Run every cell of `notebook` in a kernel of `python`; raise CellExecutionError on error.

    The executed copy (outputs included) is written to `executed` when given, also on error.
    """
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="kerasup-kernels-") as kernels:
        write_kernelspec(Path(kernels), python, {"TF_CPP_MIN_LOG_LEVEL": "2", **env})
        manager = KernelManager(
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]),
        )
        client = NotebookClient(
            nb, km=manager, kernel_name=KERNEL_NAME, timeout=timeout,
            resources={"metadata": {"path": str(cwd or notebook.parent)}},
        )
        try:
            client.execute()
        finally:
            # nbclient shuts down only kernels whose manager it created itself.
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
            if executed is not None:
                executed.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, executed)
    return nb


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: execute the notebook; 0 when every cell ran, 1 when one failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, nargs="?", default=NOTEBOOK)
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the kernel's interpreter (needs ipykernel; default: this one)")
    parser.add_argument("--data", help="KERASUP_DATA for the notebook")
    parser.add_argument("--epochs", type=int, help="KERASUP_EPOCHS for the notebook")
    parser.add_argument("--out", type=Path, default=Path("out") / "mnist_dense_notebook",
                        help="KERASUP_OUT; the executed notebook is saved there too")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("envs") is None:  # a bare checkout: the toolkit root has it
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from envs.contract.fileio import output_folder_problem  # no writing through a planted link

    refused = output_folder_problem(args.out, (".png", ".json", ".keras", ".ipynb"),
                                    flag="--out")
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2

    env = {"KERASUP_OUT": str(args.out.resolve())}
    if args.data:
        env["KERASUP_DATA"] = str(Path(args.data).resolve())
    if args.epochs is not None:
        env["KERASUP_EPOCHS"] = str(args.epochs)
    executed = args.out / f"{args.notebook.stem}.executed.ipynb"
    try:
        execute_notebook(args.notebook.resolve(), python=args.python, env=env,
                         timeout=args.timeout, executed=executed)
    except CellExecutionError as exc:
        print(f"notebook failed: {exc.ename}: {exc.evalue} (see {executed})", file=sys.stderr)
        return 1
    print(f"notebook ran: {executed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
