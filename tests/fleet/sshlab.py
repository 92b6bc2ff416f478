"""A throwaway SSH lab on this machine: lab machines that are Debian's OpenSSH server, each on
its own loopback address and in its own mount and UTS namespaces (its own host name, /etc,
/usr/local, /root, /home and /opt), with keys generated per run, and the Ansible environment
that talks to them without reading ~/.ansible or ~/.ssh. Used by the fleet tests (and usable
by hand: see setup/ansible/README.md). Needs root, unshare and nsenter (util-linux) and
overlayfs.
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


@dataclass(frozen=True)
class Keys:
    """The lab's keys: one host key for every sshd (each address listed in known_hosts) and
    the client key Ansible logs in with."""

    root: Path
    port: int
    client_key: Path
    known_hosts: Path

    def host_vars(self, address: str) -> dict[str, object]:
        """Ansible connection variables for one inventory host of this lab."""
        return {
            "ansible_host": address,
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.client_key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} "
                                       "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "
                                       "-o ConnectTimeout=5",
            "ansible_python_interpreter": "/usr/bin/python3",
        }


def make_keys(root: Path, addresses: Sequence[str]) -> Keys:
    """Generate the lab's keys under ``root`` and pick one free port for every sshd."""
    root.mkdir(parents=True, exist_ok=True)
    host_pub = _keygen(root / "host_key")
    (root / "authorized_keys").write_text(_keygen(root / "client_key") + "\n")
    port = free_port()
    (root / "known_hosts").write_text(
        "".join(f"[{address}]:{port} {' '.join(host_pub.split()[:2])}\n" for address in addresses))
    return Keys(root, port, root / "client_key", root / "known_hosts")


@dataclass
class LabHost:
    """One lab machine: an sshd in its own mount and UTS namespaces, so it has its own host
    name and its own /etc, /usr/local, /root, /home and /opt (see ``_NAMESPACE``)."""

    name: str  # its own host name (the kernel's node name there)
    address: str
    root: Path  # its folders on this machine: <what>/upper (overlays) and home/
    process: subprocess.Popen[bytes]

    def upper(self, what: str) -> Path:
        """What this host changed in its /etc, /usr/local or /opt, or its /root (``what``)."""
        return self.root / what / "upper"

    def run(self, command: str, *, user: str | None = None, stdin: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``sh -c command`` on this host as root, or as ``user`` in a login shell (its
        profile.d scripts read), as a student would after logging in."""
        argv = ["sh", "-c", command] if user is None else ["runuser", "-l", user, "-c", command]
        return subprocess.run(["nsenter", "-t", str(self.process.pid), "-m", "-u", "--", *argv],
                              input=stdin, text=True, capture_output=True, timeout=timeout,
                              check=False)

    def stop(self) -> None:
        """End sshd and every session it started (they outlive the listener), and wait: the
        namespace, and with it every mount, goes with its last process."""
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
HostKey {keys}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {keys}/authorized_keys
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

# Run by `unshare --mount --uts` (mounts private to the new namespace): the host's name; its
# own /etc and /usr/local (overlays: this machine's files below, the host's changes in its
# folder); an empty /root and /home (this machine's root runs pyenv from its ~/.bashrc in
# every SSH session, which no lab machine does); and /opt: a folder given as $4 (e.g. a small
# tmpfs), else an overlay whose lower layer is uv's cache ($3) with metacopy, so uv hard-links
# from the cache into /opt/kerasup as on one disk while the data stays shared (no 1.8 GB copy
# a host). A Python installation of this machine given as $5 (a pyenv one lives under the
# /root it hides) is shown read-only at its own path. sshd starts every session with a umask
# of at least 022; a test sets the admin's own through ansible_python_interpreter.
_NAMESPACE = r"""set -eu
host=$1 dir=$2 cache=$3 opt=$4 python=$5; shift 5
hostname "$host"
overlay() {
    mkdir -p "$dir/$2/upper" "$dir/$2/work"
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$dir/$2/upper,workdir=$dir/$2/work$3" "$4"
}
if [ -n "$opt" ]; then mount --bind "$opt" /opt
else overlay "$cache" opt ",metacopy=on,redirect_dir=on" /opt; chmod 0755 "$dir/opt/upper"; fi
overlay /etc etc "" /etc
overlay /usr/local usr-local "" /usr/local
if [ -n "$python" ]; then mkdir -p "$dir/python"; mount --bind "$python" "$dir/python"; fi
mkdir -p "$dir/root/upper"
chmod 0700 "$dir/root/upper"
mount --bind "$dir/root/upper" /root
if [ -n "$python" ]; then mkdir -p "$python"; mount --bind -o ro "$dir/python" "$python"; fi
mkdir -p "$dir/home"
mount --bind "$dir/home" /home
exec "$@"
"""


def _wait_listening(host: LabHost, port: int, deadline_s: float = 15) -> None:
    until = time.monotonic() + deadline_s
    while True:
        if host.process.poll() is not None:
            raise RuntimeError(f"{host.name}'s sshd exited ({host.process.returncode}); see "
                               f"{host.root / 'sshd.log'}")
        with contextlib.suppress(OSError), socket.create_connection((host.address, port), 1):
            return
        if time.monotonic() > until:
            raise RuntimeError(f"sshd did not listen on {host.address}:{port}")
        time.sleep(0.1)


def start_host(keys: Keys, root: Path, name: str, address: str, *, cache: Path,
               opt: Path | None = None, python: Path | None = None) -> LabHost:
    """Start one lab machine (see ``LabHost``): Debian's sshd on ``address`` at the lab's
    port, in new mount and UTS namespaces prepared by ``_NAMESPACE`` (``python``: a Python
    installation's prefix to show there)."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "sshd_config"
    config.write_text(_CONFIG.format(listen=address, keys=keys.root, root=root, sftp=SFTP_SERVER))
    # Debian's sshd wants its privilege-separation directory (normally made by systemd).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with (root / "sshd.log").open("wb") as log:
        process = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c",
             _NAMESPACE, "lab-host", name, str(root), str(cache), str(opt or ""),
             str(python or ""),
             str(SSHD), "-D", "-e", "-f", str(config), "-p", str(keys.port)],
            stdout=log, stderr=subprocess.STDOUT)
    host = LabHost(name, address, root, process)
    try:
        _wait_listening(host, keys.port)
    except BaseException:
        host.stop()
        raise
    return host


@contextlib.contextmanager
def lab_hosts(keys: Keys, specs: Sequence[tuple[str, str, Path, dict[str, object]]],
              ) -> Iterator[dict[str, LabHost]]:
    """``start_host`` for each (name, address, folder, options); all stopped on the way out."""
    started: dict[str, LabHost] = {}
    try:
        for name, address, folder, options in specs:
            started[name] = start_host(keys, folder, name, address, **options)  # type: ignore[arg-type]
        yield started
    finally:
        for host in started.values():
            host.stop()


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
    seconds = time.monotonic() - started
    if log is not None:
        log.write_text(f"{output}\n(exit status {done.returncode} after {seconds:.0f} s)\n")
    recap = {m.group(1): dict(zip(_RECAP_KEYS, map(int, m.groups()[1:]), strict=True))
             for m in _RECAP.finditer(output)}
    return PlayRun(done.returncode, output, recap, seconds)
