"""One reader per lock format and one PEP 503 normaliser: the kernel's in-place filter and
the installer read the pip lock through envs.contract.piplock, and nothing else in the
toolkit re-writes the normalisation or reaches for pip's private packages."""

from __future__ import annotations

import re
from pathlib import Path

from envs.contract.facts import PYTHONS, VARIANTS
from envs.contract.piplock import canonical_name, parse_requirements, without
from setup.kernel import KERNEL_ROOTS

REPO = Path(__file__).resolve().parents[2]
CPU_LOCK = REPO / "envs" / "cpu" / "requirements.txt"
_SOURCES = [p for top in ("setup", "envs", "verify") for p in (REPO / top).rglob("*.py")]


def test_without_nothing_is_the_lock_itself():
    text = CPU_LOCK.read_text(encoding="utf-8")
    assert without(text, ())[0] == text if text.endswith("\n") else text + "\n"
    assert without(text, ())[1] == []


def test_without_the_kernel_drops_exactly_what_only_it_needs():
    text = CPU_LOCK.read_text(encoding="utf-8")
    kept_text, left_out = without(text, KERNEL_ROOTS)
    entries = parse_requirements(text)
    kept = {e.name for e in parse_requirements(kept_text)}
    dropped = set(left_out)
    assert {"ipykernel"} <= dropped and "keras" in kept and not kept & dropped
    assert kept | dropped == {e.name for e in entries}
    for e in entries:  # dropped: a root, or needed only by dropped ones
        if e.name in dropped:
            assert e.name in KERNEL_ROOTS or (e.via and e.via <= dropped), e.name
        else:
            assert e.name not in KERNEL_ROOTS and not (e.via and e.via <= dropped), e.name
    # every kept entry keeps its hashes and notes, line for line
    for e in parse_requirements(kept_text):
        assert e.hashes and e.hashes == next(x.hashes for x in entries if x == e)


def test_entries_know_their_source_line():
    lines = CPU_LOCK.read_text(encoding="utf-8").splitlines()
    for e in parse_requirements("\n".join(lines)):
        assert canonical_name(re.split(r"[=;\[ ]", lines[e.line - 1])[0]) == e.name


def test_pep503_normalisation_is_written_once():
    rule = re.compile(r"""re\.sub\(r?["']\[-_\.\]\+["']""")
    hits = [p.relative_to(REPO).as_posix() for p in _SOURCES if rule.search(p.read_text())]
    assert hits == ["envs/contract/piplock.py"]


def test_no_module_imports_pips_private_packages():
    assert not [p for p in _SOURCES if "pip._vendor" in p.read_text()]


def test_the_keras_home_rule_has_one_owner(tmp_path):
    from envs.contract import keras_json
    from setup.installer.bundle.build import default_data

    env = {"KERAS_HOME": str(tmp_path / "kh"), "HOME": str(tmp_path / "home")}
    assert keras_json.location(env) == keras_json.keras_home(env) / "keras.json"
    assert default_data(env) is None
    cached = tmp_path / "kh" / "datasets" / "mnist.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"npz")
    assert default_data(env) == cached
    (tmp_path / "home").mkdir()
    assert keras_json.keras_home({"HOME": str(tmp_path / "home")}) == tmp_path / "home/.keras"
    text = (REPO / "verify" / "mnist_data.py").read_text()
    assert "keras_json.keras_home()" in text and 'environ.get("KERAS_HOME")' not in text


def test_files_that_cannot_import_the_repository_url_repeat_it_exactly():
    import json

    from envs.contract.facts import REPOSITORY_URL

    notebook = json.loads((REPO / "setup" / "colab.ipynb").read_text(encoding="utf-8"))
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert f'"KERASUP_REPO_URL", "{REPOSITORY_URL}")' in code
    role = REPO / "setup" / "ansible" / "roles" / "kerasup"
    assert f"kerasup_git_url: {REPOSITORY_URL}\n" in (role / "defaults/main.yml").read_text()
    assert f"default: {REPOSITORY_URL}\n" in (role / "meta/argument_specs.yml").read_text()
    assert f"git clone {REPOSITORY_URL}" in (REPO / "README.md").read_text()
    urls = {m for p in (*_SOURCES, REPO / "README.md", REPO / "setup" / "colab.ipynb")
            for m in re.findall(r"https://github\.com/kerasup/[\w.-]+", p.read_text())}
    assert urls <= {REPOSITORY_URL, REPOSITORY_URL.removesuffix(".git")}


def test_one_platform_table_for_the_lock_step_and_the_bundle_builder():
    """Both uses derive from envs.contract.platforms: the same platforms, the same marker
    environments, the same wheels (the bundle's stdlib wheel_fits against the lock step's
    packaging ranking over the contract's platform tags, on every wheel of the committed locks,
    and the lock step's chosen wheel is one the bundle carries), one floor, and the uv wheel."""
    from packaging.markers import Marker
    from packaging.utils import parse_wheel_filename

    from envs.contract.platforms import GLIBC_FLOOR, MACOS_FLOOR, PLATFORMS, WHEEL_PLATFORMS
    from envs.contract.pylock import read_pylock
    from envs.contract.wheeltags import platform_tags, wheel_fits
    from envs.lock import platforms as lock_platforms
    from setup.installer.bundle.select import BUNDLE_PLATFORMS, BundleTarget, select_wheels
    from setup.installer.bundle.uvwheel import uv_wheel

    assert tuple(lock_platforms.TARGETS) == WHEEL_PLATFORMS == BUNDLE_PLATFORMS
    assert (lock_platforms.GLIBC, lock_platforms.MACOS) == (GLIBC_FLOOR, MACOS_FLOOR)
    wheels = [(p, w) for v in VARIANTS for p in read_pylock(REPO / "envs" / v / "pylock.toml")
              .packages for w in p.wheels]
    for name in WHEEL_PLATFORMS:
        target = lock_platforms.TARGETS[name]
        assert target.wheel_platforms == platform_tags(name)
        for python in PYTHONS:
            assert target.marker_environment(python) == PLATFORMS[name].marker_environment(
                python)
            accepted = set(target.wheel_tags(python))
            for _pkg, wheel in wheels:
                lock_ok = bool(parse_wheel_filename(wheel.filename)[3] & accepted)
                assert wheel_fits(wheel.filename, name, python) == lock_ok, (wheel, name)
        uv = uv_wheel(name)
        assert wheel_fits(uv.filename, name, "3.12") and PLATFORMS[name].uv is not None
    packages = read_pylock(REPO / "envs" / "cpu" / "pylock.toml").packages
    carried = {w.url for w in select_wheels(packages, [BundleTarget("linux-64", "3.12")])}
    env = PLATFORMS["linux-64"].marker_environment("3.12")
    for pkg in packages:
        if pkg.marker is None or Marker(pkg.marker).evaluate(env):
            best = lock_platforms.best_wheel([w.url for w in pkg.wheels],
                                             lock_platforms.TARGETS["linux-64"], "3.12")
            assert best in carried, pkg.name
    above_glibc = f"manylinux_2_{GLIBC_FLOOR[1] + 1}_x86_64"
    above_macos = f"macosx_{MACOS_FLOOR[0] + 1}_0_arm64"
    assert above_glibc not in platform_tags("linux-64")
    assert above_macos not in platform_tags("osx-arm64")
    assert "manylinux2014_x86_64" in platform_tags("linux-64")
    assert not wheel_fits("x-1-py3-none-manylinux_2_28_aarch64.whl", "linux-64", "3.12")
    assert wheel_fits("x-1-py3-none-any.whl", "win-64", "3.12")


def test_pythons_variants_and_lock_paths_are_written_by_their_owners():
    """Python code takes the Pythons, the default variant and envs/<variant>/<lock> from the
    contract (no such string constant elsewhere); the shell wrappers, which cannot import it,
    repeat them exactly."""
    import ast

    from envs.contract.facts import DEFAULT_VARIANT

    span = f"{PYTHONS[0]}-{PYTHONS[-1]}"
    owned = {*PYTHONS, span, DEFAULT_VARIANT}
    owners = {"envs/contract/facts.py", "envs/contract/layout.py"}
    found = [f"{p.relative_to(REPO)}:{node.lineno}: {node.value!r}"
             for p in (*_SOURCES, REPO / "noxfile.py")
             if p.relative_to(REPO).as_posix() not in owners
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.Constant) and node.value in owned]
    envs_paths = [f"{p.relative_to(REPO)}:{node.lineno}" for p in (*_SOURCES, REPO / "noxfile.py")
                  if p.relative_to(REPO).as_posix() not in owners
                  for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                  if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                  and any(isinstance(side, ast.Constant) and side.value == "envs"
                          for side in (node.left, node.right))]
    assert found == [] and envs_paths == []
    sh = (REPO / "setup" / "ubuntu.sh").read_text(encoding="utf-8")
    newest_first = " ".join(f"python{v}" for v in reversed(PYTHONS))
    assert f"python3 {newest_first} python3.10" in sh and span in sh
    assert f"--variant {'|'.join(VARIANTS)}" in sh and f"(default: {DEFAULT_VARIANT};" in sh
    ps1 = (REPO / "setup" / "windows.ps1").read_text(encoding="utf-8")
    assert f"[string]$Variant = '{DEFAULT_VARIANT}'" in ps1 and f"Python {span}" in ps1


def test_the_contracts_module_list_names_every_module():
    """envs/contract/__init__.py's docstring lists each module of the contract, and no other."""
    import envs.contract

    listed = set(re.findall(r":mod:`envs\.contract\.(\w+)`", envs.contract.__doc__ or ""))
    modules = {p.stem for p in (REPO / "envs" / "contract").glob("*.py") if p.stem != "__init__"}
    assert listed == modules
