#!/usr/bin/env bash
# make bench: ./tests/bench/run.sh BIN_DIR [bench.py options]
#
# Measures Backstop against simprov directly and against nginx as a plain
# reverse proxy (issue 7).  Builds nothing: BIN_DIR must hold backstopd and
# simprov.  Installs wrk and nginx when missing (sudo when not root), raises
# the fd limit, runs tests/bench/bench.py in a temporary directory, and stops
# every server it started on exit.  Everything listens on 127.0.0.1.
#
#   ./tests/bench/run.sh build/bin              the full run (~5 minutes)
#   ./tests/bench/run.sh build/bin --reps 1     quicker, noisier
#   ./tests/bench/run.sh build/bin --profile    perf, strace -c, callgrind of one worker
#
# BENCH_KEEP=1 keeps the temporary work dir (configs, logs) for a look after.
# Output: a table on stdout, progress on stderr, and
# tests/bench/results/bench-<UTC time>.json.
set -euo pipefail

bin=${1:-build/bin}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for b in backstopd simprov; do
    if [ ! -x "$bin/$b" ]; then
        echo "bench: $bin/$b is missing (build first: make all)" >&2
        exit 2
    fi
done

# --- Debian packages: wrk, nginx (any flavour); nothing when present.
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
case " $* " in
    *" --profile "*)
        command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
        command -v strace >/dev/null 2>&1 || missing+=(strace)
        command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
        ;;
esac
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]}" >&2
    if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- Limits: one fd per held stream in the client and simprov, two in a worker.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/backstop-bench.XXXXXX")
py=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$py" ] && kill -0 "$py" 2>/dev/null; then
        kill -TERM "$py" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$py" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$py" 2>/dev/null || true
    fi
    # Whatever bench.py started and did not stop (it records every pid; each
    # server runs in its own session, so its process group holds its workers).
    if [ -f "$work/pids" ]; then
        while read -r pid name; do
            if kill -0 "$pid" 2>/dev/null; then
                echo "bench: stopping leftover $name ($pid)" >&2
                kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
                sleep 1
                kill -KILL -- "-$pid" 2>/dev/null || true
            fi
        done < "$work/pids"
    fi
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench: kept the work dir $work (logs, configs)" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: binaries $bin, fd limit $(ulimit -n), work dir $work" >&2
python3 "$here/bench.py" --bin "$bin" --workdir "$work" "$@" &
py=$!
rc=0
wait "$py" || rc=$?
py=""
exit "$rc"
