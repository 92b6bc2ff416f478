"""setup/windows.ps1, read structurally (PowerShell is not on this machine; where pwsh is, its
own parser checks the file too): help block, typed param() block, balanced brackets, flags
matching ubuntu.sh's --help, and only bootstrap flags that exist. The Windows branch of the
install logic itself is tested through setup/bootstrap.py's plan (test_installer_plan.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from setup_helpers import UBUNTU_SH, WINDOWS_PS1

from envs.contract import facts
from setup.installer.cli import build_parser

TEXT = WINDOWS_PS1.read_text(encoding="utf-8")
# Verbs from PowerShell's Get-Verb that the script may use.
APPROVED_VERBS = {"Add", "Confirm", "Find", "Get", "Install", "Invoke", "Set", "Show", "Stop",
                  "Test", "Write"}
# Built-in cmdlets the script calls (everything else Verb-Noun must be defined in it).
CMDLETS = {"Get-Command", "Get-Help", "Get-ItemProperty", "Join-Path", "New-ItemProperty",
           "Out-Host", "Read-Host", "Set-StrictMode", "Split-Path", "Test-Path", "Where-Object",
           "Write-Host"}


def strip_strings_and_comments(text: str) -> str:
    """The script's code with comments removed and every string literal emptied."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            assert end != -1, "unterminated <# comment"
            i = end + 2
        elif c == "#":
            end = text.find("\n", i)
            i = n if end == -1 else end
        elif c == "'":
            j = i + 1
            while True:
                j = text.find("'", j)
                assert j != -1, f"unterminated ' string at {i}"
                if text.startswith("''", j):
                    j += 2
                    continue
                break
            out.append("''")
            i = j + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "`" else 1
            assert j < n, f'unterminated " string at {i}'
            out.append('""')
            i = j + 1
        elif c == "`":
            out.append(text[i:i + 2])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


CODE = strip_strings_and_comments(TEXT)


def param_block() -> str:
    """The text from [CmdletBinding()] param( to its closing parenthesis (alone on a line)."""
    m = re.search(r"^\[CmdletBinding\(\)\]\s*param\((.*?)^\)$", TEXT, re.DOTALL | re.MULTILINE)
    assert m, "no [CmdletBinding()] param( ... ) block"
    inner = strip_strings_and_comments(m.group(1))
    assert inner.count("(") == inner.count(")") and inner.count("[") == inner.count("]")
    return m.group(1)


def params() -> dict[str, str]:
    return {name: kind for kind, name in re.findall(r"\[(string|switch|int)\]\$(\w+)",
                                                    param_block())}


def test_brackets_balance():
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    for pos, c in enumerate(CODE):
        if c in "([{":
            stack.append((c, pos))
        elif c in pairs:
            assert stack, f"unmatched {c!r} near: {CODE[max(0, pos - 60):pos + 1]!r}"
            opened, at = stack.pop()
            assert opened == pairs[c], f"{opened!r} at {at} closed by {c!r} at {pos}"
    assert not stack, f"unclosed {stack[-1]}"


def test_comment_based_help():
    m = re.match(r"\s*<#(.*?)#>", TEXT, re.DOTALL)
    assert m, "the script must start with a comment-based help block"
    help_text = m.group(1)
    for keyword in (".SYNOPSIS", ".DESCRIPTION", ".EXAMPLE", ".NOTES"):
        assert keyword in help_text
    documented = set(re.findall(r"^\.PARAMETER (\w+)", help_text, re.MULTILINE))
    assert documented == set(params())
    assert "powershell -ExecutionPolicy Bypass -File setup\\windows.ps1" in help_text


def test_typed_param_block_has_the_ubuntu_flags():
    assert params() == {"Variant": "string", "Python": "string", "Prefix": "string",
                        "Conda": "switch", "DryRun": "switch", "Yes": "switch",
                        "MakeBundle": "string", "FromBundle": "string", "IndexUrl": "string",
                        "Help": "switch"}


def test_flags_match_ubuntu_sh_help():
    out = subprocess.run(["bash", str(UBUNTU_SH), "--help"], capture_output=True, text=True,
                         check=True).stdout
    usage = out.split("\n\n")[0]  # the Usage: lines
    sh_flags = set(re.findall(r"--([a-z][a-z-]*)", usage))
    as_powershell = {"".join(part.capitalize() for part in f.split("-")) for f in sh_flags}
    assert as_powershell == set(params())


def test_values_are_not_revalidated_here():
    """The installer judges variants, Pythons and platforms; the wrapper passes them on."""
    assert "ValidateSet" not in CODE
    assert "$arguments += @('--python', $Python)" in TEXT
    assert "-ne 'AMD64'" not in TEXT  # the architecture is reported, not refused


def test_error_preference_and_strict_mode():
    assert re.search(r"^\$ErrorActionPreference = 'Stop'$", TEXT, re.MULTILINE)
    assert "Set-StrictMode -Version" in TEXT


def test_functions_are_verb_noun_and_all_defined():
    defined = re.findall(r"^function ([\w-]+)", CODE, re.MULTILINE)
    assert defined and len(defined) == len(set(defined))
    for name in defined:
        verb, _, noun = name.partition("-")
        assert verb in APPROVED_VERBS and noun and noun[0].isupper(), name
    used = set(re.findall(r"\b([A-Z][a-z]+-[A-Z]\w+)\b", CODE)) - CMDLETS
    assert used <= set(defined), f"called but not defined: {used - set(defined)}"
    called = set(re.findall(r"\b([A-Z][a-z]+-[A-Z]\w+)\b",
                            re.sub(r"^function [\w-]+", "", CODE, flags=re.MULTILINE)))
    assert set(defined) <= called, f"defined but never called: {set(defined) - called}"


def test_only_flags_the_bootstrap_knows_are_passed():
    known = {o for a in build_parser()._actions for o in a.option_strings}
    ps1 = set(re.findall(r"'(--[a-z][a-z-]*)'", TEXT))
    assert {"--variant", "--python-exe", "--python"} <= ps1 <= known, ps1 - known
    sh = UBUNTU_SH.read_text()
    assert 'bootstrap_args=("$@")' in sh  # every option, unchanged
    passed = set(re.findall(r"(--[a-z][a-z-]*)", "\n".join(
        line for line in sh.splitlines() if "bootstrap.py" in line and "$py" in line)))
    assert passed <= known, passed - known


def test_hands_over_to_the_shared_bootstrap_with_the_win_amd64_lock():
    assert "setup\\bootstrap.py" in TEXT and "--python-exe" in TEXT
    # dot's directory comes from the bootstrap (one place knows where winget/choco put it)
    assert "'--find-dot', '--platform', 'win-64'" in TEXT
    assert "SetEnvironmentVariable('Path'" in TEXT and "'User'" in TEXT
    assert "$env:Path" in TEXT


def test_windows_prerequisites_are_checked():
    for needle in ("py", "winget install --exact --id Python.Python.", "Graphviz.Graphviz",
                   "choco install graphviz", "LongPathsEnabled", "vcruntime140_1.dll",
                   "msvcp140.dll", "Microsoft.VCRedist.2015+.x64"):
        assert needle in TEXT, needle


def test_gpu_explains_wsl2_and_installs_nothing():
    main = TEXT[TEXT.index("function Invoke-Main"):]
    gpu = main.index("if ($Variant -eq 'gpu')")
    assert gpu < main.index("Invoke-Bootstrap") and gpu < main.index("Install-Python")
    line = main[gpu:main.index("\n", gpu)]
    assert "Show-WslInstruction" in line and "return" in line
    wsl = TEXT[TEXT.index("function Show-WslInstruction"):TEXT.index("function Test-Architecture")]
    assert "2.10" in wsl and "wsl --install" in wsl and "./setup/ubuntu.sh --variant gpu" in wsl


def test_dot_sourcing_only_defines_functions():
    """Pester-style tests can dot-source the script without running the install."""
    tail = CODE[CODE.rindex("function "):]
    guard = tail.index("if ($MyInvocation.InvocationName -ne '')")
    assert tail.index("Invoke-Main", guard) > guard


def test_no_admin_by_default():
    assert "#Requires -RunAsAdministrator" not in TEXT
    assert "--scope user" in TEXT  # winget installs for the user


def test_powershell_parser_accepts_it():
    pwsh = shutil.which("pwsh") or shutil.which("powershell")
    if not pwsh:
        pytest.skip("PowerShell is not installed here; the structural tests above stand in")
    script = ("$e = $null; [System.Management.Automation.Language.Parser]::ParseFile("
              f"'{WINDOWS_PS1}', [ref]$null, [ref]$e) | Out-Null; "
              "if ($e) { $e | ForEach-Object { $_.ToString() }; exit 1 }")
    out = subprocess.run([pwsh, "-NoProfile", "-Command", script], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_pythons_it_looks_for_are_the_contracts():
    """PowerShell cannot import the contract: hold its list (newest first) to it."""
    found = re.search(r"^\$script:SupportedPythons = @\(([^)]*)\)", TEXT, re.MULTILINE)
    assert found, "windows.ps1 names the Pythons it looks for"
    listed = tuple(v.strip().strip("'") for v in found.group(1).split(","))
    assert listed == tuple(reversed(facts.PYTHONS))
    assert f"@('{facts.DEFAULT_PYTHON}')" in TEXT and "Python.Python.$v" in TEXT
