"""Run a notebook as JupyterLab does, through a real jupyter_server (run by the tests inside
the environment): open it (contents API), start its kernel by the name in its metadata
(sessions API), run every code cell on that kernel, and save it with its outputs (contents
API: what JupyterLab's save and autosave send). Prints the saved model as JSON.

    python lab_session.py URL TOKEN PATH_IN_ROOT RUNTIME_DIR
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client import BlockingKernelClient


def api(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method, headers={
        "Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        text = response.read()
    return json.loads(text) if text else None


def run_cells(client: BlockingKernelClient, nb: Any) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs: list[Any] = []

        def keep(msg: dict[str, Any], outputs: list[Any] = outputs) -> None:
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))

        reply = client.execute_interactive(cell.source, output_hook=keep, timeout=900)
        cell.outputs = outputs
        cell.execution_count = reply["content"].get("execution_count")
        if reply["content"]["status"] != "ok":
            break


def main() -> int:
    url, token, path, runtime = sys.argv[1:5]
    model = api(url, token, "GET", f"/api/contents/{path}?content=1")
    nb = nbformat.from_dict(model["content"])
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    session = api(url, token, "POST", "/api/sessions", {
        "path": path, "type": "notebook", "name": Path(path).name, "kernel": {"name": kernel}})
    kernel_id = session["kernel"]["id"]
    connection = Path(runtime) / f"kernel-{kernel_id}.json"
    deadline = time.monotonic() + 60
    while not connection.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels()
    try:
        # the kernel is the server's: ask it directly (wait_for_ready would read a heartbeat
        # that has not started yet as a dead kernel)
        client.kernel_info()
        client.get_shell_msg(timeout=120)
        run_cells(client, nb)
    finally:
        client.stop_channels()
    api(url, token, "PUT", f"/api/contents/{path}",
        {"type": "notebook", "format": "json", "content": nb})
    api(url, token, "DELETE", f"/api/sessions/{session['id']}")
    print(json.dumps({"kernel": session["kernel"]["name"], "saved": path}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
