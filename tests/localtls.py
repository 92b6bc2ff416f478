"""Local HTTPS for the tests: a throw-away CA with a server certificate, and the servers the
tests start (tests/setup/netfaults.py, tests/bundle/tls_index.py) as child processes that
print their port. One place for both, used by the network, mirror and bundle tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# The server certificate's names: the loopback address and a name the tests map to it.
SERVER_NAMES = "IP:127.0.0.1,DNS:index.example"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: Path) -> dict[str, Path]:
    """A CA (ca.pem) and a server certificate for SERVER_NAMES signed by it (srv.pem,
    srv.key), valid two days, in ``folder``."""
    d = folder
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"),
             "-out", str(d / "ca.pem"), "-days", "2", "-subj", "/CN=kerasup test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "srv.key"),
             "-out", str(d / "srv.csr"), "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text(f"subjectAltName={SERVER_NAMES}\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.pem"), "-CAkey",
             str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "srv.pem"), "-days", "2",
             "-extfile", str(d / "ext.cnf"))
    return {"ca": d / "ca.pem", "cert": d / "srv.pem", "key": d / "srv.key"}


@contextlib.contextmanager
def serving(script: Path, *args: str) -> Iterator[int]:
    """``python SCRIPT ARGS`` started, its first line (the port it listens on) read; killed
    and reaped on the way out."""
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    try:
        assert port.isdigit(), f"{script.name} {' '.join(args[:1])} did not start"
        yield int(port)
    finally:
        proc.kill()
        proc.wait(timeout=10)
