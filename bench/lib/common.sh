# Shared by bench/agent-rss, bench/heartbeats and bench/fanout. Sourced, not run.
# Sets: root, bin (the binaries to measure), work (private dir, removed on exit unless
# a step failed), SHOAL_HOME. Provides: start_fleet N, stop_fleet, rss_kib PID,
# cpu_ticks PID, median, die.
set -euo pipefail

config=${BENCH_CONFIG:-release}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bench_name=$(basename "$0")

die() { echo "$bench_name: $*" >&2; exit 1; }
case $config in release | debug) ;; *) echo "$bench_name: BENCH_CONFIG must be release or debug" >&2; exit 64 ;; esac

# Everything temporary (ours and the toolchain's TemporaryDirectory.* folders) goes into
# one private directory, removed on exit. Readable by others: the broker runs as `mosquitto`.
work=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bench.XXXXXX")
chmod 755 "$work"
export SHOAL_HOME=$work/home TMPDIR=$work

if [[ ${BENCH_NO_BUILD:-} != 1 ]]; then
    echo "building shoal ($config; a no-op when up to date)..." >&2
    swift build -c "$config" --product shoal >&2 || die "swift build failed"
fi
bin=${BENCH_BIN:-$(swift build -c "$config" --show-bin-path)}
[[ -x $bin/shoal ]] || die "$bin/shoal is missing"

unset SHOAL_BROKER
up_pid=
keep_work=0
extra_pids=()

stop_fleet() {
    local pid
    for pid in "${extra_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${extra_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    extra_pids=()
    if [[ -n $up_pid ]] && kill -0 "$up_pid" 2>/dev/null; then
        kill -TERM "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    up_pid=
}
cleanup() {
    stop_fleet
    if ((keep_work)); then echo "$bench_name: logs kept in $SHOAL_HOME/up/logs" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# start_fleet AGENTS: `shoal up` with a broker, a dispatcher and AGENTS real agents, and
# BENCH_UP_FLAGS (`--unsigned-jobs`, `--secure`). With `--secure`, `login` holds the flags
# a bench client (the simulator, a raw baseline) connects with: TLS and the dispatcher's
# credentials, whose ACL covers every topic under shoal/v1.
login=()
start_fleet() {
    # shellcheck disable=SC2086 # a list of flags
    "$bin/shoal" up --agents "$1" ${BENCH_UP_FLAGS:-} >"$work/up.out" 2>"$work/up.err" &
    up_pid=$!
    local deadline=$((SECONDS + ${BENCH_UP_TIMEOUT:-120}))
    until [[ -f $SHOAL_HOME/up/broker.url ]]; do
        kill -0 "$up_pid" 2>/dev/null || { keep_work=1; cat "$work/up.err" >&2; die "shoal up exited"; }
        ((SECONDS < deadline)) || { keep_work=1; die "the fleet was not ready in time"; }
        sleep 0.1
    done
    broker=$(cat "$SHOAL_HOME/up/broker.url")
    if [[ " ${BENCH_UP_FLAGS:-} " == *" --secure "* ]]; then
        login=(--tls-ca "$SHOAL_HOME/up/secure/ca.crt" --username shoal-dispatcher
               --password-file "$SHOAL_HOME/up/secure/shoal-dispatcher.password")
    fi
    broker_pid=$(pgrep -f "mosquitto -c $SHOAL_HOME/up/broker/mosquitto.conf" | head -n 1)
    dispatcher_pid=$(pgrep -f "dispatcher --db $SHOAL_HOME/up/shoal.db" | head -n 1)
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# utime + stime of a process, in clock ticks
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Up to 3 descriptors per MQTT client: a 10,000-node run needs more than the default 1024.
raise_fd_limit() {
    local hard
    hard=$(ulimit -Hn)
    ulimit -Sn "$hard" 2>/dev/null || die "cannot raise the open-files limit to $hard"
}

# start_simulator N [ARGS...]: `shoal simulate` against the fleet's broker; returns once
# it reports every agent connected, then waits until the dispatcher lists them online.
start_simulator() {
    local count=$1
    shift
    "$bin/shoal" simulate --agents "$count" --broker "$broker" "${login[@]}" "$@" >"$work/simulate.out" 2>"$work/simulate.err" &
    sim_pid=$!
    extra_pids+=("$sim_pid")
    local deadline=$((SECONDS + ${BENCH_UP_TIMEOUT:-300}))
    until grep -q '^ready' "$work/simulate.out" 2>/dev/null; do
        kill -0 "$sim_pid" 2>/dev/null || { keep_work=1; tail -20 "$work/simulate.err" >&2; die "shoal simulate exited"; }
        ((SECONDS < deadline)) || { keep_work=1; die "the simulated agents did not connect in time"; }
        sleep 0.2
    done
    until [[ $(online_count) -ge $count ]]; do
        ((SECONDS < deadline)) || { keep_work=1; die "the dispatcher did not list $count nodes online in time"; }
        sleep 0.5
    done
}

online_count() {
    "$bin/shoal" nodes -o json 2>/dev/null | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["online"]))'
}
