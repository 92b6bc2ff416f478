#!/usr/bin/env bash
# kerasup: one command from a fresh Ubuntu/Debian (or WSL2) machine to a verified
# Keras/TensorFlow environment. This wrapper only finds a Python to run the bootstrap
# and the system packages (apt); everything else happens once, in setup/bootstrap.py.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: setup/ubuntu.sh [--variant cpu|gpu] [--python 3.X|PATH] [--prefix DIR]
                       [--conda] [--dry-run] [--yes] [--help] [other setup options]
       setup/ubuntu.sh --make-bundle DIR [options]    (platform and python repeat)
       setup/ubuntu.sh --from-bundle DIR [--prefix DIR]    (offline: no network at all)
       setup/ubuntu.sh --index-url URL ...                 (an internal mirror)

Creates a verified Keras/TensorFlow environment from the project's hashed lock.

This wrapper finds a Python (3.10 or newer) to run setup/bootstrap.py with and installs
the system packages the environment needs (graphviz, python3-venv) with apt; every option
is passed through to setup/bootstrap.py, which checks them all (its --help lists more).

Options:
  --variant cpu|gpu      which environment (default: cpu; gpu needs Linux x86_64 and an
                         NVIDIA driver, on WSL2 too)
  --python 3.X|PATH      Python version (or interpreter) of the environment (default: the
                         one an existing install uses, else an installed 3.11-3.13, 3.12
                         preferred; uv downloads one only when none is installed)
  --prefix DIR           where the environment goes (default: .venv in the repository)
  --conda                create it from envs/<variant>/conda-lock.yml with micromamba or
                         conda-lock instead of uv and the pip lock (graphviz then comes
                         from conda-forge, so apt installs none)
  --dry-run              print every action and change nothing
  --yes                  do not ask before sudo apt-get (it answers questions only: an
                         environment kerasup did not make is replaced only with
                         --replace-foreign, which moves it aside)
  --make-bundle DIR      build an offline bundle (DIR, DIR.tar.gz or DIR.zip): the lock's
                         wheels for each --platform x --python, uv, the toolkit, MNIST
  --from-bundle DIR      install from such a bundle with no network, then verify (the same
                         plan, --dry-run and --plan-json as any install; from a checkout
                         the bundle's lock must be the checkout's)
  --expect-sha256 HEX    with --from-bundle: the MANIFEST.json sha256 --make-bundle printed
  --index-url URL        install from this package index (a mirror); hashes stay required
  --help                 show this help

Steps: apt packages when missing (sudo only after asking), then setup/bootstrap.py: checks
(OS, architecture, Python, disk, proxy, NVIDIA driver for gpu) -> uv (pinned, from PyPI)
-> environment -> site hook -> install record -> keras.json -> python -m verify. Running
it again is a quick no-op that still verifies, and repairs an interrupted install.

Environment:
  KERASUP_MIN_FREE_GB    free disk space required, in GB (default 3 for cpu, 8 for gpu)
  KERASUP_OFFLINE=1      never download (install only from uv's cache)
  KERASUP_PYTHON         the interpreter to make the environment from (and to run setup)
  KERAS_HOME             where keras.json is written (default: ~/.keras)

Exit status: verify's (0 ready, 1 a check failed), 2 bad input, 3 setup could not proceed,
130 interrupted.
EOF
}

say() { printf 'kerasup: %s\n' "$*"; }
# err MESSAGE [STATUS]: one line on stderr, then exit (3 unless told otherwise).
err() {
    printf 'kerasup: error: %s\n' "$1" >&2
    exit "${2:-3}"
}
need_cmd() {
    if ! command -v "$1" >/dev/null 2>&1; then
        err "need '$1' (command not found) (fix: install it with your package manager)"
    fi
}
ensure() {
    if ! "$@"; then err "command failed: $*"; fi
}

# Globals set by parse_args: only what this wrapper acts on. Every argument is passed
# through to setup/bootstrap.py unchanged, which validates them all (one place has the rules).
conda=0
offline_bundle=0
dry_run=0
yes=0
bootstrap_args=()

parse_args() {
    bootstrap_args=("$@")
    while [ $# -gt 0 ]; do
        case "$1" in
            --help | -h) usage; exit 0 ;;
            --conda) conda=1 ;;
            --dry-run) dry_run=1 ;;
            --yes | -y) yes=1 ;;
            --from-bundle) offline_bundle=1; shift ;;
            # options taking a value: skip the value, whatever it looks like
            --variant | --python | --python-exe | --prefix | --platform | --kernel-name | \
                --kernel-prefix | --make-bundle | --data | --index-url | --expect-sha256) shift ;;
        esac
        if [ $# -gt 0 ]; then shift; fi
    done
    return 0
}

check_os() {
    local kernel arch name=""
    need_cmd uname
    kernel="$(uname -s)"
    arch="$(uname -m)"
    if [ "$kernel" != Linux ]; then
        err "this script is for Ubuntu/Debian Linux (and WSL2), not $kernel (fix: on macOS run python3 setup/bootstrap.py; on Windows setup\\windows.ps1)" 2
    fi
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        name="$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-${NAME:-Linux}}")"
    fi
    if grep -qi microsoft /proc/version 2>/dev/null; then name="$name (WSL2)"; fi
    say "found: ${name:-Linux}, $arch"
}

# A python >= 3.10 to run the bootstrap with (the environment's own Python, 3.11-3.13,
# is chosen by the bootstrap, which may download a uv-managed one).
find_bootstrap_python() {
    local candidate
    for candidate in "${KERASUP_PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10 \
        /usr/bin/python3 "${HOME:-/nonexistent}"/.pyenv/versions/3.1[0-3]*/bin/python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# The arguments as one line a user can paste into a shell.
quote_args() {
    local out="" arg
    for arg in "$@"; do
        case "$arg" in
            *[!A-Za-z0-9_./:=+-]*) arg="'${arg//\'/\'\\\'\'}'" ;;
        esac
        out="$out $arg"
    done
    printf '%s' "${out# }"
}

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command that changes the system: as root directly; otherwise through sudo, only
# after printing it and asking (or with --yes). --dry-run only prints it.
run_privileged() {
    local shown
    shown="$(quote_args "$@")"
    if [ "$dry_run" = 1 ]; then
        if is_root; then say "would run: $shown"; else say "would run: sudo $shown"; fi
        return 0
    fi
    if is_root; then
        say "run: $shown"
        ensure "$@"
        return 0
    fi
    if ! command -v sudo >/dev/null 2>&1; then
        err "this needs root and sudo is not installed (fix: run this as root, then run this script again: $shown)"
    fi
    say "this needs root: sudo $shown"
    if [ "$yes" != 1 ]; then
        local answer=""
        if ! { exec 3</dev/tty; } 2>/dev/null; then
            err "cannot ask for permission (no terminal) (fix: run 'sudo $shown' yourself, or rerun with --yes)"
        fi
        printf 'kerasup: run it now? [y/N] ' >&2
        read -r answer <&3 || true
        exec 3<&-
        case "$answer" in
            y | Y | yes) ;;
            *) err "not confirmed (fix: run 'sudo $shown' yourself, then run this script again)" ;;
        esac
    fi
    ensure sudo "$@"
}

# System packages the environment needs and lacks (prints their names, changes nothing).
missing_system_packages() {
    local py="$1"
    if [ "$conda" = 0 ] && ! command -v dot >/dev/null 2>&1; then
        printf '%s\n' graphviz
    fi
    if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        case "$py" in
            /usr/bin/python3) printf '%s\n' python3-venv ;;
            /usr/bin/python3.*) "$py" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])' ;;
            *) say "warning: $py cannot create virtual environments (no ensurepip): the bootstrap will say what to do" >&2 ;;
        esac
    fi
}

# Install them with apt (as root directly, otherwise through sudo after asking).
install_system_packages() {
    if [ "$offline_bundle" = 1 ] && [ "$dry_run" = 1 ]; then
        say "warning: missing $* (a bundle carries no system packages): install them from the OS image before installing"
        return 0
    fi
    if [ "$offline_bundle" = 1 ]; then
        # A bundle carries Python packages only: system packages come from the OS image.
        err "missing $* (a bundle carries no system packages) (fix: install them from the OS image or your local mirror: sudo apt-get install $*)"
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "warning: missing $* and this is not an apt system: install them with your package manager"
        return 0
    fi
    say "system packages missing: $*"
    # One command (so one question): the package lists, then the packages.
    run_privileged sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 $*"
}

# An index URL with credentials must not stay in this process's arguments, which every
# account can read (ps): start again at once with it in KERASUP_INDEX_URL (this account's
# environment, which the bootstrap reads) and without the --index-url pair.
hide_index_credentials() {
    local args=() url="" rest
    while [ $# -gt 0 ]; do
        case "$1" in
            --index-url)
                if [ $# -gt 1 ]; then url="$2"; shift 2; continue; fi ;;
            --index-url=*) url="${1#--index-url=}"; shift; continue ;;
        esac
        args+=("$1")
        shift
    done
    rest="${url#*://}"
    case "${rest%%/*}" in
        *@*)
            export KERASUP_INDEX_URL="$url"
            exec bash "${BASH_SOURCE[0]}" ${args[@]+"${args[@]}"} ;;
    esac
    return 0
}

main() {
    local here repo py status
    hide_index_credentials "$@"
    parse_args "$@"
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    repo="$(dirname "$here")"
    check_os
    if ! py="$(find_bootstrap_python)"; then
        # A minimal image without any python3: the one system package needed before checks.
        if ! command -v apt-get >/dev/null 2>&1; then
            err "no Python 3.10 or newer found to run the bootstrap (looked for python3, python3.1x, ~/.pyenv/versions) (fix: install python3)"
        fi
        say "no Python 3.10 or newer found to run the bootstrap: installing the system python3"
        run_privileged sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 python3 python3-venv"
        if [ "$dry_run" = 1 ]; then
            say "dry run: stopping here, no Python to run the bootstrap yet"
            exit 0
        fi
        py="$(find_bootstrap_python)" || err "python3 was installed but is older than 3.10 (fix: install python3.11 or newer)"
    fi
    say "Python to run the bootstrap: $py ($("$py" -c 'import platform; print(platform.python_version())'))"

    local missing=()
    mapfile -t missing < <(missing_system_packages "$py")
    if [ ${#missing[@]} -gt 0 ]; then
        # Checks before anything changes: the bootstrap refuses with one line and a fix.
        status=0
        "$py" "$repo/setup/bootstrap.py" --check "${bootstrap_args[@]}" || status=$?
        if [ "$status" != 0 ]; then exit "$status"; fi
        install_system_packages "${missing[@]}"
    else
        say "system packages: nothing missing (graphviz, python venv)"
    fi
    # The bootstrap checks (disk, Python, prefix, proxy, driver) before it changes anything.
    say "handing over to setup/bootstrap.py"
    exec "$py" "$repo/setup/bootstrap.py" "${bootstrap_args[@]}"
}

main "$@"
