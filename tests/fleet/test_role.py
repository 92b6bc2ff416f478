"""The role's own parts without SSH: its variables against the contract, the plan filter, the
toolkit packer, and ansible-lint (production profile)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from envs.contract.facts import PYTHONS, VARIANTS

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "setup" / "ansible"
ROLE = ANSIBLE / "roles" / "kerasup"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan_filter = _load(ROLE / "filter_plugins" / "kerasup_plan.py")
pack_toolkit = _load(ROLE / "files" / "pack_toolkit.py")


def _specs() -> dict:
    return yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"][
        "main"]["options"]


def test_argument_specs_offer_what_the_contract_supports() -> None:
    specs = _specs()
    assert tuple(specs["kerasup_variant"]["choices"]) == VARIANTS
    assert tuple(specs["kerasup_python"]["choices"]) == ("", *PYTHONS)


def test_every_default_is_documented_and_every_option_has_a_default() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert set(defaults) == set(_specs())
    assert all(spec.get("description") for spec in _specs().values())


def _plan(up_to_date: bool, *kinds: str) -> dict:
    return {"stdout": json.dumps({"up_to_date": up_to_date, "lock_sha256": "ab",
                                  "actions": [{"kind": k, "description": f"do {k}"}
                                              for k in kinds]}), "rc": 0}


def test_plan_json_contract() -> None:
    plan = plan_filter.kerasup_plan(_plan(False, "uv-venv", "write-record"))
    assert plan["needs_run"] is True and plan["lock_sha256"] == "ab"
    assert plan["changes"] == [{"kind": "uv-venv", "description": "do uv-venv"},
                               {"kind": "write-record", "description": "do write-record"}]
    assert plan_filter.kerasup_plan(_plan(True))["needs_run"] is False


def test_an_up_to_date_environment_still_runs_for_a_keras_json_repair() -> None:
    # up_to_date speaks for the environment; the keras.json and site-hook repairs are actions.
    assert plan_filter.kerasup_plan(_plan(True, "keras-json"))["needs_run"] is True
    # verify only reads the machine: no change.
    assert plan_filter.kerasup_plan(_plan(True, "verify"))["needs_run"] is False


@pytest.mark.parametrize("stdout", ["kerasup: checks passed", "[]", '{"actions": []}',
                                    '{"up_to_date": "yes"}',
                                    '{"up_to_date": false, "actions": [{"kind": "x"}]}'])
def test_plan_json_refuses_what_breaks_the_contract(stdout: str) -> None:
    with pytest.raises(plan_filter.AnsibleFilterError):
        plan_filter.kerasup_plan({"stdout": stdout})


def test_the_installer_keeps_the_contract(tmp_path: Path) -> None:
    """The real installer's --check --plan-json on a new prefix: read-only, and parseable."""
    prefix = tmp_path / "env"
    done = subprocess.run([sys.executable, str(REPO / "setup" / "bootstrap.py"), "--prefix",
                           str(prefix), "--python-exe", sys.executable, "--check",
                           "--plan-json", "--no-verify"],
                          env={**os.environ, "HOME": str(tmp_path), "KERASUP_MIN_FREE_GB": "0"},
                          text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plan = plan_filter.kerasup_plan({"stdout": done.stdout})
    assert plan["up_to_date"] is False and plan["needs_run"] is True
    assert all(a["kind"] != "verify" for a in plan["actions"])
    assert not prefix.exists()


def test_toolkit_pack_is_root_owned_readable_and_keeps_times(tmp_path: Path) -> None:
    out = tmp_path / "toolkit.tar.gz"
    pack_toolkit.pack(REPO, out)
    with tarfile.open(out) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "setup/bootstrap.py" in members and "envs/contract/facts.py" in members
    assert "verify/__main__.py" in members
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in members)
    assert all(m.uid == 0 and m.mode & 0o444 == 0o444 for m in members.values())
    # every folder travels as 0755, so none is made under the host's umask
    assert all(members[str(up)].isdir() and members[str(up)].mode == 0o755
               for name in members for up in Path(name).parents if str(up) != ".")
    facts = members["envs/contract/facts.py"]
    assert facts.mtime == int((REPO / "envs" / "contract" / "facts.py").stat().st_mtime)


def test_toolkit_pack_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not a kerasup checkout"):
        pack_toolkit.pack(tmp_path, tmp_path / "out.tar.gz")


def _tool(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this venv")
    return path


@pytest.mark.slow
def test_role_and_playbook_are_ansible_lint_clean(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_HOME=str(tmp_path), ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    syntax = subprocess.run([_tool("ansible-playbook"), "--syntax-check", "-i",
                             "inventory.example.ini", "site.yml"], cwd=ANSIBLE, env=env,
                            text=True, capture_output=True, timeout=300)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = subprocess.run([_tool("ansible-lint"), "--offline", "--nocolor", "--profile",
                           "production", "site.yml", "roles/kerasup"], cwd=ANSIBLE, env=env,
                          text=True, capture_output=True, timeout=600)
    assert lint.returncode == 0, lint.stdout + lint.stderr


vars_filter = _load(ROLE / "filter_plugins" / "kerasup_vars.py")


def test_toolkit_pack_leaves_the_admins_files_behind(tmp_path: Path) -> None:
    digest = pack_toolkit.pack(REPO, tmp_path / "a.tar.gz")
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        names = tar.getnames()
    assert not [n for n in names if n.startswith("setup/ansible") or "/tests/" in n
                or n.endswith("inventory.ini")]
    assert digest == pack_toolkit.pack(REPO, tmp_path / "b.tar.gz")  # stable across runs


@pytest.mark.parametrize("value, how, expected", [
    ("python3, graphviz", "commas", ["python3", "graphviz"]),
    ('["python3", "graphviz"]', "commas", ["python3", "graphviz"]),
    ("--only packages", "args", ["--only", "packages"]),
    (["--only", "packages"], "args", ["--only", "packages"]),
    ("", "commas", []),
])
def test_lists_read_as_an_ini_inventory_writes_them(value: object, how: str,
                                                     expected: list[str]) -> None:
    assert vars_filter.kerasup_list(value, how) == expected


def test_environment_and_installer_args_from_strings() -> None:
    assert vars_filter.kerasup_dict("HTTPS_PROXY=http://p:3128 UV_CACHE_DIR=/c") == {
        "HTTPS_PROXY": "http://p:3128", "UV_CACHE_DIR": "/c"}
    assert vars_filter.kerasup_dict('{"A": 1}') == {"A": "1"}
    assert vars_filter.kerasup_installer_args("--replace-foreign") == ["--replace-foreign"]
    for bad in ("--prefix /tmp", "rm -rf", "--x\n--y", "-x", "--from-bundle=/b.tar.gz",
                "--expect-sha256 ab"):
        with pytest.raises(vars_filter.AnsibleFilterError):
            vars_filter.kerasup_installer_args(bad)
