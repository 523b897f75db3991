# Shared by scripts/demo and scripts/test. Sourced, not run.

# Installs what Shoal needs from Debian's packages when it is missing.
ensure_dependencies() {
    local missing=()
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
    pkg-config --exists libmosquitto 2>/dev/null || missing+=(libmosquitto-dev)
    [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
    # Ed25519 for signed jobs.
    [ -f /usr/include/sodium.h ] || missing+=(libsodium-dev)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)
    # The secure profile: certificates (openssl), hashed passwords (mosquitto_passwd, in mosquitto).
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    # The agent's built-in isolation of a quarantined node (QuarantineTests run it in a netns).
    command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
    # scripts/test-integrations: the Python example and the contract check run in a venv.
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    # TopTerminalTests: `shoal top` in a real terminal, read back with capture-pane.
    command -v tmux >/dev/null 2>&1 || missing+=(tmux)
    # deploy/systemd/check: systemd-analyze verify.
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "==> installing ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "error: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the packaged broker as a service where it can; Shoal runs its own.
}

# The toolchain and the test harness leave TemporaryDirectory.* folders in $TMPDIR; a
# private one, removed on exit, keeps /tmp clean. It is readable by others because a
# broker started as root drops to user `mosquitto` and keeps its files in there.
use_private_tmpdir() {
    TMPDIR="$(mktemp -d /tmp/shoal-run.XXXXXX)"
    chmod 755 "$TMPDIR"
    export TMPDIR
    trap 'rm -rf "$TMPDIR"' EXIT
}

command -v swift >/dev/null 2>&1 || { echo "error: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
