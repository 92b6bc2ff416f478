#!/usr/bin/env bash
# Run the toolkit's whole test suite: lint, the lock staleness check, and the pytest sessions
# (every test on the default Python, the fast ones on the others). Installs its own pinned
# tooling (uv, nox) into .tools/ first.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: tests/run.sh [--dry-run] [--help] [-- NOX_ARGS...]

Installs the pinned test tooling (tests/tools-requirements.txt, hashes required) into
.tools/ and runs three stages with nox, each even if an earlier one failed:
  nox -s lint                  ruff (C901 complexity <= 12 included) and shellcheck
  nox -s lock -- --check       every lock is fresh against its environment.yml (offline)
  nox -s tests                 pytest on every supported Python, in parallel (pytest-xdist):
                               tests-<default Python> runs every test, the slow ones too,
                               in the CPU environment setup/bootstrap.py builds once;
                               the other tests-X.Y run the fast tests that can differ
                               between Pythons and the one test that installs the lock
                               for that Python (marker lockinstall); noxfile.py says which

Arguments after -- are nox arguments that replace `-s tests` in the third stage (lint and
the lock check still run); pytest arguments go after a second --, e.g.
  tests/run.sh -- -s tests-3.13
  tests/run.sh -- -s tests-3.12 -- -m slow -k verify
It exits 0 when every stage passed, else 1 after naming the stages that failed.

Environment:
  KERASUP_TOOLS_DIR   where the tooling venv lives (default: .tools in the repository)
  PYTHON              interpreter used to create it (default: python3)
  KERASUP_TEST_ENV    a CPU environment setup/bootstrap.py made, for the tests to use
                      instead of building .nox/verify-env (its Python must match)
EOF
}

say() { printf 'tests/run.sh: %s\n' "$*"; }
err() { printf 'tests/run.sh: error: %s\n' "$*" >&2; exit 1; }
run() {
    say "+ $*"
    if [ "$dry_run" = 0 ]; then "$@"; fi
}

# One stage: run it, time it, and remember a failure without stopping the others.
stage() {
    local name="$1" start=$SECONDS
    shift
    if [ "$dry_run" = 1 ]; then
        run "$@"
    elif run "$@"; then
        say "$name passed in $((SECONDS - start))s"
    else
        say "$name FAILED (exit $?) after $((SECONDS - start))s"
        failed+=("$name")
    fi
}

main() {
    dry_run=0
    failed=()
    local nox_args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --dry-run) dry_run=1 ;;
            --) shift; nox_args=("$@"); break ;;
            *) err "unknown argument '$1' (see --help)" ;;
        esac
        shift
    done

    local repo
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cd "$repo"
    local tools="${KERASUP_TOOLS_DIR:-$repo/.tools}"
    local python="${PYTHON:-python3}"
    command -v "$python" >/dev/null 2>&1 || err "need '$python' (command not found); install Python 3.11+"

    # Tests use the machine's interpreters, never downloads; noxfile.py finds pyenv's.
    export UV_PYTHON_DOWNLOADS=never

    if [ ! -x "$tools/bin/nox" ] || ! cmp -s tests/tools-requirements.txt "$tools/.requirements.txt"; then
        run "$python" -m venv --clear "$tools"
        run "$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
            --require-hashes -r tests/tools-requirements.txt
        run cp tests/tools-requirements.txt "$tools/.requirements.txt"
    fi
    export PATH="$tools/bin:$PATH"

    [ ${#nox_args[@]} -gt 0 ] || nox_args=(-s tests)
    stage lint nox -s lint
    stage "lock check" nox -s lock -- --check
    stage tests nox "${nox_args[@]}"
    if [ ${#failed[@]} -gt 0 ]; then
        say "failed: ${failed[*]}"
        exit 1
    fi
    say "all passed"
}

main "$@"
