#!/usr/bin/env bash
# Run the toolkit's whole test suite: lint, the lock staleness check, and pytest on every
# supported Python. Installs its own pinned tooling (uv, nox) into .tools/ first.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: tests/run.sh [--dry-run] [--help] [-- NOX_ARGS...]

Installs the pinned test tooling (tests/tools-requirements.txt, hashes required) into
.tools/ and runs, with nox:
  nox -s lint                  ruff and shellcheck
  nox -s lock -- --check       every lock is fresh against its environment.yml (offline)
  nox -s tests                 the pytest suite on Python 3.11, 3.12 and 3.13

Arguments after -- go to the pytest sessions instead, e.g. tests/run.sh -- -s tests-3.12.

Environment:
  KERASUP_TOOLS_DIR   where the tooling venv lives (default: .tools in the repository)
  PYTHON              interpreter used to create it (default: python3)
EOF
}

say() { printf 'tests/run.sh: %s\n' "$*"; }
err() { printf 'tests/run.sh: error: %s\n' "$*" >&2; exit 1; }
run() {
    say "+ $*"
    if [ "$dry_run" = 0 ]; then "$@"; fi
}

# nox looks interpreters up on PATH; pyenv keeps them elsewhere, so add its versions.
add_pyenv_pythons() {
    local root
    root="$(pyenv root 2>/dev/null || printf '%s' "${PYENV_ROOT:-$HOME/.pyenv}")"
    local dir
    for dir in "$root"/versions/3.1[123]*/bin; do
        [ -d "$dir" ] && PATH="$PATH:$dir"
    done
    export PATH
}

main() {
    dry_run=0
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

    export UV_PYTHON_DOWNLOADS=never   # tests use the machine's interpreters, never downloads
    add_pyenv_pythons

    if [ ! -x "$tools/bin/nox" ] || ! cmp -s tests/tools-requirements.txt "$tools/.requirements.txt"; then
        run "$python" -m venv --clear "$tools"
        run "$tools/bin/python" -m pip install --quiet --disable-pip-version-check \
            --require-hashes -r tests/tools-requirements.txt
        run cp tests/tools-requirements.txt "$tools/.requirements.txt"
    fi
    export PATH="$tools/bin:$PATH"

    run nox -s lint
    run nox -s lock -- --check
    if [ ${#nox_args[@]} -gt 0 ]; then
        run nox "${nox_args[@]}"
    else
        run nox -s tests
    fi
    say "all passed"
}

main "$@"
