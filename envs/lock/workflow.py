"""What `python -m envs.lock` does: lock a variant (pip locks, then conda-lock.yml from the
same resolution) or check offline that its committed locks match its environment.yml."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from envs.contract.errors import ExitCode, LockError
from envs.contract.facts import VARIANTS
from envs.contract.fileio import write_atomic
from envs.contract.flags import offline
from envs.contract.layout import LOCK_FILES
from envs.contract.lockheader import KEY_EXCLUDE_NEWER, KEY_INPUTS, read_header
from envs.contract.pylock import Pylock, parse_pylock, read_pylock
from envs.lock.conda_solve import (
    CondaSource,
    conda_forge_reachable,
    live_conda_forge,
    snapshot_channel,
    solve,
)
from envs.lock.index_snapshot import SNAPSHOT_DIR
from envs.lock.inputs_hash import conda_content_hashes, pip_inputs_hash, read_lock_header
from envs.lock.pip_lock import (
    default_exclude_newer,
    parse_exclude_newer,
    parse_requirements,
    read_requirements,
    resolve,
)
from envs.lock.sbom import sbom_problems, write_sbom
from envs.lock.spec import ENVS_DIR, EnvSpec, load_spec

__all__ = ["LOCK_FILES", "check_variant", "choose_conda_source", "lock_variant"]

log = logging.getLogger(__name__)
SNAPSHOT_ENV = "KERASUP_CONDA_SNAPSHOT"


def choose_conda_source(snapshot: Path | None) -> CondaSource:
    """The live conda-forge channel, or a snapshot only when one was chosen explicitly."""
    chosen = snapshot or (Path(os.environ[SNAPSHOT_ENV]) if os.environ.get(SNAPSHOT_ENV)
                          else None)
    if chosen is not None:
        return snapshot_channel(chosen)
    if conda_forge_reachable():
        return live_conda_forge()
    raise LockError("conda-forge (https://conda.anaconda.org) is unreachable",
                    fix=f"to lock against a local snapshot pass --conda-snapshot DIR (or set "
                        f"{SNAPSHOT_ENV}=DIR)", code=ExitCode.CANNOT_PROCEED)


@dataclass(frozen=True)
class LockResult:
    """The files one lock run wrote."""

    paths: tuple[Path, ...]
    seconds: float


def conda_lock_text(spec: EnvSpec, source: CondaSource, pylock_toml: str,
                    requirements_txt: str) -> str:
    """conda-lock.yml for `spec`: each platform's conda solve plus, from the pip locks' own
    resolution, the one wheel per pip package that fits there."""
    from envs.lock.conda_lockfile import (
        build_lockfile,
        conda_entries,
        pip_entries,
        python_version,
        render,
    )
    pylock = parse_pylock(pylock_toml, "pylock.toml")
    requirements = parse_requirements(requirements_txt, "requirements.txt")
    packages = []
    licences: dict[str, str] = {}  # conda-lock v1 entries have no licence field: kept aside
    for target in spec.targets:
        log.info("%s: solving the conda part for %s against %s", spec.variant, target.subdir,
                 source.solved_against)
        solved = solve(spec.conda, target, spec.variant, source)
        packages += conda_entries(solved, target.subdir)
        licences.update({f"{p.name}={p.version}={p.build}": p.license
                         for p in solved if p.license})
        packages += pip_entries(pylock, requirements, target,
                                python_version(solved, target.subdir))
    header = read_header(pylock_toml)
    lockfile = build_lockfile(
        platforms=spec.platforms, packages=packages, source=source,
        content_hash=conda_content_hashes(spec),
        custom={"kerasup_pip_inputs_sha256": header.get(KEY_INPUTS, ""),
                "kerasup_pip_exclude_newer": header.get(KEY_EXCLUDE_NEWER, ""),
                "kerasup_pip_source": "pylock.toml (one wheel per platform)",
                # name=version=build -> the licence its conda record states (for the SBOM)
                "kerasup_conda_licenses": json.dumps(dict(sorted(licences.items())),
                                                     separators=(",", ":"))})
    return render(lockfile)


def lock_variant(spec: EnvSpec, source: CondaSource, *, exclude_newer: str | None = None,
                 offline_pip: bool = False, conda_only: bool = False,
                 out_dir: Path | None = None,
                 network: Mapping[str, str] | None = None) -> LockResult:
    """Resolve `spec` and write its three locks (all computed before any is written).
    `conda_only` re-uses the pip locks in `out_dir`, which must be fresh. `network`: where uv
    asks and whom it trusts (a recording or replaying proxy), see pip_lock.uv_environment."""
    start = time.monotonic()
    out = out_dir or spec.path.parent
    if conda_only:
        for name in LOCK_FILES[:2]:
            path = out / name
            if not path.is_file() or read_lock_header(path).get(KEY_INPUTS) != \
                    pip_inputs_hash(spec):
                raise LockError(f"{path} is missing or stale, so it cannot feed "
                                "conda-lock.yml: run without --conda-only")
        texts = {name: (out / name).read_text(encoding="utf-8") for name in LOCK_FILES[:2]}
    else:
        when = (parse_exclude_newer(exclude_newer) if exclude_newer
                else default_exclude_newer(out / "requirements.txt"))
        log.info("%s: resolving the pip part with uv (exclude-newer %s)", spec.variant, when)
        pip_locks = resolve(spec, when, offline=offline_pip, network=network)
        texts = {"requirements.txt": pip_locks.requirements_txt,
                 "pylock.toml": pip_locks.pylock_toml}
    texts["conda-lock.yml"] = conda_lock_text(spec, source, texts["pylock.toml"],
                                              texts["requirements.txt"])
    paths = []
    for name in LOCK_FILES:
        write_atomic(out / name, texts[name])  # UTF-8, \n line ends on every OS
        paths.append(out / name)
    # CycloneDX of what the locks just written hold, with the metadata the index served
    paths.append(write_sbom(out, spec.path.parent.parent / SNAPSHOT_DIR.name))
    return LockResult(tuple(paths), time.monotonic() - start)


_FIX = "run `nox -s lock` and commit the result"


def _pip_lock_problems(spec: EnvSpec, where: Path) -> tuple[list[str], Pylock | None]:
    """Problems of requirements.txt and pylock.toml, and the parsed pylock when both are
    fresh and one resolution."""
    problems: list[str] = []
    expected = pip_inputs_hash(spec)
    dates = {}
    for name in LOCK_FILES[:2]:
        path = where / name
        if not path.is_file():
            problems.append(f"{path} is missing; {_FIX}")
            continue
        header = read_lock_header(path)
        if header.get(KEY_INPUTS) != expected:
            problems.append(f"{path} is stale against {spec.path.name} (inputs hash "
                            f"{header.get(KEY_INPUTS, 'absent')[:12]}, expected "
                            f"{expected[:12]}); {_FIX}")
        dates[name] = header.get(KEY_EXCLUDE_NEWER)
    if problems:
        return problems, None
    try:
        pylock = read_pylock(where / "pylock.toml")
        requirements = read_requirements(where / "requirements.txt")
    except LockError as exc:
        return [exc.one_line()], None
    in_pylock = {(p.name, str(p.version)) for p in pylock.packages}
    in_requirements = {(n, e.version) for n, entries in requirements.items() for e in entries}
    if in_pylock != in_requirements or len(set(dates.values())) != 1:
        problems.append(f"{where / 'pylock.toml'} and requirements.txt are not the same "
                        f"resolution; {_FIX}")
    return problems, pylock


def _conda_lock_problems(spec: EnvSpec, path: Path, pylock: Pylock | None) -> list[str]:
    """Problems of conda-lock.yml against environment.yml and the pip locks."""
    from conda_lock.lockfile import parse_conda_lock_file

    if not path.is_file():
        return [f"{path} is missing; {_FIX}"]
    try:
        lock = parse_conda_lock_file(path)
    except Exception as exc:  # conda-lock raises pydantic, yaml and value errors alike
        detail = " ".join(str(exc).split())[:300]
        return [f"{path} cannot be read by conda-lock ({detail}); {_FIX}"]
    problems: list[str] = []
    if sorted(lock.metadata.platforms) != sorted(spec.platforms):
        problems.append(f"{path} covers {', '.join(sorted(lock.metadata.platforms))} but "
                        f"{spec.path.name} lists {', '.join(sorted(spec.platforms))}; {_FIX}")
    hashes = conda_content_hashes(spec)
    stale = sorted(p for p in spec.platforms if lock.metadata.content_hash.get(p) != hashes[p])
    if stale:
        problems.append(f"{path} is stale against {spec.path.name} (content_hash differs for "
                        f"{', '.join(stale)}); {_FIX}")
    custom = lock.metadata.custom_metadata or {}
    if custom.get("kerasup_pip_inputs_sha256") != pip_inputs_hash(spec):
        problems.append(f"{path} pip entries were made from other pip inputs; {_FIX}")
    if pylock is not None:
        wheels = {(p.name, p.version, w.sha256) for p in pylock.packages for w in p.wheels}
        foreign = sorted(f"{d.name} {d.version} ({d.platform})" for d in lock.package
                         if d.manager == "pip"
                         and (d.name, d.version, d.hash.sha256) not in wheels)
        if foreign:
            problems.append(f"{path} has pip entries not in pylock.toml "
                            f"({', '.join(foreign[:3])}); {_FIX}")
    return problems


def check_variant(spec: EnvSpec, lock_dir: Path | None = None) -> list[str]:
    """Problems that make a variant's committed locks stale or inconsistent, one line each,
    naming the file. Offline: judged from the input hashes recorded in the locks."""
    where = lock_dir or spec.path.parent
    problems, pylock = _pip_lock_problems(spec, where)
    return (problems + _conda_lock_problems(spec, where / "conda-lock.yml", pylock)
            + sbom_problems(where, spec.path.parent.parent / SNAPSHOT_DIR.name))


def check_variants(specs: Sequence[EnvSpec]) -> list[str]:
    """check_variant over several variants."""
    return [problem for spec in specs for problem in check_variant(spec)]


def run(*, variants: Sequence[str], check: bool, conda_snapshot: Path | None = None,
        refresh: bool = False, exclude_newer: str | None = None, offline_pip: bool = False,
        conda_only: bool = False, envs_dir: Path = ENVS_DIR, extend: bool = False) -> int:
    """Lock or check `variants`; returns the exit status. `extend`: resolve against the
    recorded index snapshot, asking the live index only for what it lacks."""
    specs = [load_spec(v, envs_dir) for v in dict.fromkeys(variants)]
    if check:
        problems = check_variants(specs)
        for problem in problems:
            print(f"stale: {problem}")
        if not problems:
            log.info("locks of %s are up to date", ", ".join(s.variant for s in specs))
        return ExitCode.FAILED if problems else ExitCode.OK
    source = choose_conda_source(conda_snapshot)
    # KERASUP_OFFLINE means never try a download: uv then resolves from its cache only.
    offline_pip = offline_pip or offline(os.environ)
    if refresh:
        exclude_newer = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if conda_only or offline_pip:  # uv asks no index: there is nothing to record
        _lock_all(specs, source, exclude_newer, offline_pip, conda_only, None)
        return ExitCode.OK
    from envs.lock.index_record import recording

    dates = [parse_exclude_newer(exclude_newer) if exclude_newer
             else default_exclude_newer(s.path.parent / "requirements.txt") for s in specs]
    with recording([s.variant for s in specs], VARIANTS, max(dates), envs_dir,
                   envs_dir / SNAPSHOT_DIR.name, extend=extend) as network:
        _lock_all(specs, source, exclude_newer, False, False, network)
    for spec in specs:  # again, from the metadata the snapshot just recorded (new packages')
        write_sbom(spec.path.parent, envs_dir / SNAPSHOT_DIR.name)
    log.info("recorded what the index served in envs/index-snapshot/ (nox -s lock -- "
             "--reproduce replays it)")
    return ExitCode.OK


def _lock_all(specs: Sequence[EnvSpec], source: CondaSource, exclude_newer: str | None,
              offline_pip: bool, conda_only: bool, network: Mapping[str, str] | None) -> None:
    for spec in specs:
        result = lock_variant(spec, source, exclude_newer=exclude_newer,
                              offline_pip=offline_pip, conda_only=conda_only, network=network)
        log.info("%s: wrote %s in %.1fs", spec.variant,
                 ", ".join(p.name for p in result.paths), result.seconds)
