#!/usr/bin/env bash
# make run: starts the two bundled simulated providers on 127.0.0.1:9101 and
# :9102 (the upstreams of etc/backstop.json), then backstopd in the
# foreground.  Ctrl-C stops the gateway (it drains first) and the simulators.
set -euo pipefail
bin=${1:-build/bin}
config=${2:-etc/backstop.json}
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

for spec in "sim-primary 9101 sim-small-v1" "sim-backup 9102 sim-small-v2"; do
    set -- $spec
    "$bin/simprov" --listen "127.0.0.1:$2" --name "$1" --model-version "$3" >/dev/null &
    pids+=($!)
done
sleep 0.3
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || {
        echo "run: a simulated provider failed to start (is port 9101 or 9102 in use?)" >&2; exit 1; }
done

cat <<'MSG'
Backstop on http://127.0.0.1:8080 with simulated providers sim-primary (:9101) and sim-backup (:9102).
Try, from another terminal (README.md has the tour):
  curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"sim-chat","messages":[{"role":"user","content":"hi"}]}'
  curl -s -X POST localhost:9101/_sim/fault -d 'status=503'     # force sim-primary down
  curl -si localhost:8080/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"sim-chat","messages":[{"role":"user","content":"hi"}]}' | grep -i x-backstop
Ctrl-C stops everything.
MSG
"$bin/backstopd" -c "$config" &
gw=$!
trap 'kill -TERM $gw 2>/dev/null || true' INT TERM
wait $gw || true
wait $gw 2>/dev/null || true
