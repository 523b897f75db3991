# Shared by the scripts that run Python against a fleet. Sourced, not run.

# make_python_env DIR PACKAGE...: a venv in DIR with the packages from PyPI. If pip cannot
# install them (no network, no index), says so and exits 77, the "skipped" status of
# automake and scripts/test, instead of failing later for a reason nobody can read.
make_python_env() {
    local dir=$1; shift
    local python
    python=$(command -v python3) || { echo "SKIP: python3 is not installed" >&2; exit 77; }
    if ! "$python" -m venv "$dir" >"$dir.log" 2>&1; then
        echo "SKIP: cannot create a Python venv (Debian: apt-get install python3-venv):" >&2
        cat "$dir.log" >&2; rm -f "$dir.log"; exit 77
    fi
    if ! "$dir/bin/pip" install --disable-pip-version-check --quiet --timeout 20 "$@" >"$dir.log" 2>&1; then
        echo "SKIP: pip could not install $* from PyPI (no network or no index reachable?):" >&2
        tail -5 "$dir.log" >&2; rm -f "$dir.log"; exit 77
    fi
    rm -f "$dir.log"
}
