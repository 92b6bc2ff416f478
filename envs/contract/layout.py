"""Every path kerasup owns under an environment's prefix (``<prefix>/share/kerasup/...``), and
where a checkout or a toolkit copy keeps each variant's locks (``envs/<variant>/<lock>``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONDA_LOCK", "LOCK_FILES", "PIP_LOCK", "PYLOCK", "SBOM", "SHARE", "Layout"]

SHARE = ("share", "kerasup")
# A variant's lock files, in envs/<variant>/ (the lock step writes them in this order).
PIP_LOCK = "requirements.txt"
PYLOCK = "pylock.toml"
CONDA_LOCK = "conda-lock.yml"
SBOM = "sbom.cdx.json"
LOCK_FILES = (PIP_LOCK, PYLOCK, CONDA_LOCK)


@dataclass(frozen=True)
class Layout:
    """The toolkit's files in the environment at ``prefix``."""

    prefix: Path

    @property
    def share(self) -> Path:
        """The directory kerasup owns inside the environment."""
        return self.prefix.joinpath(*SHARE)

    @property
    def overlay_of(self) -> Path:
        """In a personal overlay (``python -m envs.overlay``): holds the prefix of the shared
        environment it sits on, whose install record and lock verify then uses."""
        return self.share / "overlay-of"

    @property
    def install_record(self) -> Path:
        """install.json: what was installed, written last by setup (envs.contract.record)."""
        return self.share / "install.json"

    @property
    def marker(self) -> Path:
        """Written when kerasup creates the environment: proof that it may rebuild it."""
        return self.share / "created-by-kerasup"

    @property
    def verify_report(self) -> Path:
        """The JSON report of the last ``python -m verify`` that setup ran."""
        return self.share / "verify-report.json"

    @property
    def verify_junit(self) -> Path:
        """The JUnit XML of that run."""
        return self.share / "verify-junit.xml"

    @property
    def install_log(self) -> Path:
        """The package installer's full output of the last install."""
        return self.share / "install.log"

    @property
    def uv_lock(self) -> Path:
        """uv's own lock on the environment (uv makes it 0666; setup keeps it the owner's)."""
        return self.prefix / ".lock"

    @property
    def setup_lock(self) -> Path:
        """Held (flock) while a setup works on this prefix, so a second one waits or stops."""
        return self.share / "setup.lock"

    @property
    def toolkit(self) -> Path:
        """The copy of the toolkit a bundle install leaves in the environment (the site hook
        points here, so the environment outlives the bundle)."""
        return self.share / "toolkit"

    @property
    def tools(self) -> Path:
        """Tools a bundle install unpacks for itself (the bundle's uv)."""
        return self.share / "bin"

    @staticmethod
    def lock(root: Path, variant: str, name: str = PIP_LOCK) -> Path:
        """A variant's lock file in the checkout or toolkit copy ``root``:
        ``root/envs/<variant>/<name>`` (``name``: one of LOCK_FILES, or SBOM)."""
        return root / "envs" / variant / name

    def verify_argv(self, python: str, *extra: str) -> list[str]:
        """``python -I -m verify`` writing its JSON and JUnit reports to their places here: how
        setup, the Colab notebook and a bundle install all run verify in an environment.

        Isolated (-I): the caller's PYTHON* variables and current folder cannot change what
        it proves, and it caches the bytecode of what it imports (TensorFlow's ~3,000
        modules) even under PYTHONDONTWRITEBYTECODE, as pip's install would: every later
        ``import tensorflow`` then skips compiling them (3.4 s instead of 9-11 s on 2 cores).
        The environment's site hook still makes ``verify`` importable."""
        return [python, "-I", "-m", "verify", "--json", str(self.verify_report),
                "--junit", str(self.verify_junit), *extra]

    @staticmethod
    def installed_files_argv(python: str) -> list[str]:
        """verify's public installed-files check (``python -I -m verify.installed_files``):
        prints the distributions with a missing or resized file, one a line, exit 0. Setup
        runs it in an environment it is about to call up to date."""
        return [python, "-I", "-m", "verify.installed_files"]

    def owned(self) -> bool:
        """True when kerasup made this environment (its marker or install record is there)."""
        return self.marker.is_file() or self.install_record.is_file()
