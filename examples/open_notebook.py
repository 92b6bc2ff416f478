"""Copy the tutorial's notebook into your own folder, ready for JupyterLab.

Run it with the environment's Python (activated, or ``.venv/bin/python``)::

    python examples/open_notebook.py                 # to ~/kerasup-notebooks/
    python examples/open_notebook.py --to DIR --data ~/data/mnist

Why a copy: JupyterLab saves outputs into the notebook it runs and adds
``.ipynb_checkpoints/`` beside it; run in your own folder, the checkout stays as committed.
The copy's metadata names the kernel setup registered for this environment (when there is
one), so JupyterLab starts it in this environment whatever Jupyter opens it. An existing
copy is never overwritten (exclusive create): the command says where it is. ``--data`` writes
your MNIST folder into the copy's parameters cell.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parent / "mnist_dense.ipynb"
DEFAULT_DIR = Path("~") / "kerasup-notebooks"
KERASUP_KERNELS = "kerasup-"  # envs.contract.kernel.PREFIX (the examples import only verify)

__all__ = ["copy_notebook", "kerasup_kernel", "main"]


def kerasup_kernel(python: str = sys.executable) -> dict[str, str] | None:
    """The kernelspec setup registered for the environment of ``python`` (name, display
    name), or None when none is registered (or jupyter_client cannot list them)."""
    try:
        from verify.kernel_specs import KernelSpecError, all_specs
    except ImportError:
        return None
    try:
        specs = all_specs()
    except KernelSpecError:
        return None
    want = os.path.realpath(python)
    for name, found in sorted(specs.items()):
        spec = found.get("spec", {})
        argv = spec.get("argv") or [""]
        if name.startswith(KERASUP_KERNELS) and os.path.realpath(argv[0]) == want:
            return {"name": name, "display_name": spec.get("display_name", name),
                    "language": spec.get("language", "python")}
    return None


def _set_data(nb: dict[str, Any], data: Path) -> None:
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            lines = "".join(cell["source"]).split("\n")
            lines = [f"DATA = {str(data)!r}  # your MNIST folder or mnist.npz"
                     if line.startswith("DATA = None") else line for line in lines]
            cell["source"] = "\n".join(lines)
            return


def copy_notebook(folder: Path, *, data: Path | None = None,
                  kernel: dict[str, str] | None = None) -> tuple[Path, bool]:
    """Write the copy (never over an existing file); returns its path and whether it was
    written now."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NOTEBOOK.name
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    if kernel is not None:
        nb["metadata"]["kernelspec"] = kernel
    if data is not None:
        _set_data(nb, data)
    try:
        with target.open("x", encoding="utf-8") as fh:  # exclusive: an earlier copy stays
            fh.write(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    except FileExistsError:
        return target, False
    return target, True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=Path, default=DEFAULT_DIR,
                        help="your folder for the copy (default: ~/kerasup-notebooks)")
    parser.add_argument("--data", type=Path,
                        help="your MNIST folder (IDX files) or mnist.npz, written into the copy")
    args = parser.parse_args(argv)
    folder = args.to.expanduser().absolute()
    data = args.data.expanduser().absolute() if args.data else None
    kernel = kerasup_kernel()
    try:
        target, written = copy_notebook(folder, data=data, kernel=kernel)
    except OSError as exc:
        print(f"open_notebook: error: cannot write in {folder} ({exc.strerror or exc}) "
              "(fix: name a writable folder: --to DIR)", file=sys.stderr)
        return 3
    print(f"{'copied the notebook to' if written else 'your copy is already at'} {target}"
          + ("" if written else " (left as it is)"))
    print(f"kernel: {kernel['display_name']} ({kernel['name']})" if kernel else
          "kernel: none registered for this environment; start JupyterLab from it")
    print(f"open it: jupyter lab {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
