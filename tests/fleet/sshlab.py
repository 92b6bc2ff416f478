"""A throwaway SSH lab on this machine: Debian's OpenSSH server on loopback addresses, with
keys generated per run, and the Ansible environment that talks to it without reading
~/.ansible or ~/.ssh. Used by the fleet tests (and usable by hand: see setup/ansible/README.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "setup" / "ansible"
_RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                    r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.MULTILINE)
_RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kerasup-test", "-f",
                    str(path)], check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class SshLab:
    """One sshd listening on `addresses` at `port`, trusting `client_key`."""

    root: Path
    addresses: tuple[str, ...]
    port: int
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes]

    def host_vars(self, address: str, port: int | None = None) -> dict[str, object]:
        """Ansible connection variables for one inventory host of this lab."""
        return {
            "ansible_host": address,
            "ansible_port": port or self.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.client_key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} "
                                       "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "
                                       "-o ConnectTimeout=5",
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def stop(self) -> None:
        """End sshd and every session it started (they outlive the listener), and wait."""
        if self.process.poll() is None:
            for pid in _descendants(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first found first."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


_CONFIG = """\
ListenAddress {listen}
HostKey {host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxSessions 50
Subsystem sftp {sftp}
"""


def _wait_listening(lab: SshLab, deadline_s: float = 15) -> None:
    until = time.monotonic() + deadline_s
    for address in lab.addresses:
        while True:
            if lab.process.poll() is not None:
                raise RuntimeError(f"sshd exited ({lab.process.returncode}); see "
                                   f"{lab.root / 'sshd.log'}")
            with contextlib.suppress(OSError), socket.create_connection((address, lab.port), 1):
                break
            if time.monotonic() > until:
                raise RuntimeError(f"sshd did not listen on {address}:{lab.port}")
            time.sleep(0.1)


def start_sshd(root: Path, addresses: Sequence[str]) -> SshLab:
    """Start `/usr/sbin/sshd -D -f <config> -p <free port>` on `addresses` (loopback)."""
    root.mkdir(parents=True, exist_ok=True)
    host_pub = _keygen(root / "host_key")
    client_pub = _keygen(root / "client_key")
    (root / "authorized_keys").write_text(client_pub + "\n")
    port = free_port()
    (root / "known_hosts").write_text(
        "".join(f"[{address}]:{port} {' '.join(host_pub.split()[:2])}\n" for address in addresses))
    config = root / "sshd_config"
    config.write_text(_CONFIG.format(listen="\nListenAddress ".join(addresses),
                                     host_key=root / "host_key", root=root, sftp=SFTP_SERVER))
    # Debian's sshd wants its privilege-separation directory (normally made by systemd).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = (root / "sshd.log").open("wb")
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config), "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    lab = SshLab(root, tuple(addresses), port, root / "client_key", root / "known_hosts",
                 process)
    try:
        _wait_listening(lab)
    except BaseException:
        lab.stop()
        raise
    return lab


@contextlib.contextmanager
def ssh_lab(root: Path, addresses: Sequence[str]) -> Iterator[SshLab]:
    """`start_sshd`, stopped on the way out whatever happens."""
    lab = start_sshd(root, addresses)
    try:
        yield lab
    finally:
        lab.stop()


def ansible_env(root: Path, control: Path, forks: int = 10) -> dict[str, str]:
    """The environment for ansible-playbook: the repo's ansible.cfg, every state directory
    under `root`, nothing from ~/.ansible or the caller's ANSIBLE_*. `control` holds ssh's
    ControlPath sockets: keep it short (a socket path is limited to ~108 bytes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_HOME": str(root / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(root / "ansible-local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(root / "ansible-remote-tmp"),
        "ANSIBLE_COLLECTIONS_PATH": str(root / "ansible-home" / "collections"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


@dataclass
class PlayRun:
    """One ansible-playbook run: its exit status, output and recap per host."""

    rc: int
    output: str
    recap: dict[str, dict[str, int]]
    seconds: float


def playbook_bin() -> str | None:
    """ansible-playbook beside this Python (the dev venv), else on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def run_playbook(inventory: Path, env: dict[str, str], *args: str, log: Path | None = None,
                 timeout: float = 900) -> PlayRun:
    """`ansible-playbook -i inventory setup/ansible/site.yml ARGS`, parsed (output kept in
    `log` too, for a reader of a failed test)."""
    binary = playbook_bin()
    if binary is None:
        raise RuntimeError("ansible-playbook not found (install ansible-core in this venv)")
    started = time.monotonic()
    done = subprocess.run([binary, "-i", str(inventory), str(ANSIBLE_DIR / "site.yml"), *args],
                          env=env, cwd=ANSIBLE_DIR, text=True, capture_output=True,
                          timeout=timeout)
    output = done.stdout + done.stderr
    if log is not None:
        log.write_text(output)
    recap = {m.group(1): dict(zip(_RECAP_KEYS, map(int, m.groups()[1:]), strict=True))
             for m in _RECAP.finditer(output)}
    return PlayRun(done.returncode, output, recap, time.monotonic() - started)
