"""Health probes: the controller probes every target (GET {base_url}/models
for OpenAI-style providers), marks it down after `fall` failures and up after
`rise` successes, opens its breaker when it goes down, and a probe success
moves an open breaker to half-open early.  State is read from the LMDB
`probes` database with mdb_dump.

The simulator answers GET /v1/models whatever its standing fault is (faults
apply to chat requests only), so a target is made to fail its probes by
stopping its simulator and to recover by starting it again on the same port.
"""
import json
import os
import re
import signal
import subprocess
import time

import harness
from harness import check, chat_body, wait_for, read_file

FAST_PROBES = {"interval_ms": 200, "open_interval_ms": 100, "rise": 2, "fall": 2,
               "timeout_ms": 500}


def _unescape(line):
    """Decodes one mdb_dump -p line: printable bytes as is, others as \\hh."""
    out = bytearray()
    i = 0
    raw = line.encode("latin-1")
    while i < len(raw):
        if raw[i:i + 1] == b"\\":
            if raw[i + 1:i + 2] == b"\\":
                out += b"\\"
                i += 2
            else:
                out.append(int(raw[i + 1:i + 3], 16))
                i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def probes_db(gw):
    """The probes database as {key: record}."""
    r = subprocess.run(["mdb_dump", "-s", "probes", "-p", gw.state_dir], capture_output=True,
                       timeout=10, encoding="latin-1")
    check(r.returncode == 0, f"mdb_dump failed: {r.stderr}")
    lines = r.stdout.split("\n")
    try:
        start = lines.index("HEADER=END") + 1
    except ValueError:
        raise harness.TestFailure(f"unexpected mdb_dump output: {r.stdout!r}")
    data = []
    for line in lines[start:]:
        if line == "DATA=END":
            break
        check(line.startswith(" "), f"unexpected mdb_dump line {line!r}")
        data.append(_unescape(line[1:]))
    out = {}
    for k, v in zip(data[0::2], data[1::2]):
        out[k.decode()] = json.loads(v)
    return out


def probe_record(gw, key):
    return probes_db(gw).get(key)


def state_is(gw, key, state):
    rec = probe_record(gw, key)
    return rec if rec and rec["state"] == state else None


def start_sim_on(env, sim, port):
    """Starts a fresh simulator for `sim` on the given port (its old process
    is gone); env.close() stops it."""
    port_file = os.path.join(env.dir, f"{sim.name}.port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    argv = [os.path.join(harness.BIN, "simprov"), "--listen", f"127.0.0.1:{port}",
            "--name", sim.name, "--port-file", port_file]
    sim.proc = harness.Proc(argv, os.path.join(env.dir, f"{sim.name}.log"))
    wait_for(lambda: read_file(port_file).strip() or (not sim.proc.alive() and "dead"), 10,
             what=f"{sim.name} restarted")
    check(sim.proc.alive(), f"{sim.name} could not bind port {port} again")


def served_by(r, provider, skipped=None):
    """Served by provider in one attempt; `skipped` is a target the gateway
    passed over for its open breaker (named with reason breaker_open, if at
    all, in x-backstop-failover), without an attempt."""
    fo = r.header("x-backstop-failover")
    return (r.status == 200 and r.header("x-backstop-provider") == provider
            and r.header("x-backstop-attempts") == "1"
            and (fo is None or (skipped is not None and fo == f"{skipped}=breaker_open")))


def test_probe_down_opens_breaker_and_probe_recovers_it(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    # A long cool-down: within the test only a probe can end the open state.
    cfg = env.config([a, b], probes=FAST_PROBES,
                     breaker={"cooldown_ms": 120000, "cooldown_max_ms": 120000})
    gw = env.gateway(cfg)
    ka, kb = "sim-a/sim-a-model", "sim-b/sim-b-model"

    # Both targets come up after `rise` probes; probes are not chat requests.
    wait_for(lambda: state_is(gw, ka, "up") and state_is(gw, kb, "up"), 10,
             what="both targets probed up")
    rec = probe_record(gw, ka)
    check(rec["provider"] == "sim-a" and rec["model"] == "sim-a-model", rec)
    check(rec["successes"] >= 2 and rec["failures"] == 0 and rec["last_error"] is None, rec)
    check(rec["checks"] >= 2 and rec["last_ms"] > 0 and rec["last_change_ms"] > 0, rec)
    check(a.stats()["requests"] == 0 and b.stats()["requests"] == 0,
          "probe traffic counted as chat requests")

    # (1) sim-a stops answering: down after `fall` failed probes.
    port = a.port
    a.proc.stop()
    t0 = time.monotonic()
    rec = wait_for(lambda: state_is(gw, ka, "down"), 10, what="sim-a probed down")
    took = time.monotonic() - t0
    check(rec["failures"] >= 2 and rec["successes"] == 0, rec)
    check(rec["last_error"] and rec["last_error"].startswith("connect failed"), rec)
    # fall=2 probes at most 200 ms apart (100 ms once the breaker is open)
    check(took < 3.0, f"down only after {took:.2f}s")
    check(re.search(r"probe: sim-a/sim-a-model down after 2 failures: connect failed",
                    gw.logs()), "down transition not logged")
    check(state_is(gw, kb, "up"), "sim-b's state changed")

    # (2) its breaker is open: requests go straight to sim-b, one attempt.
    wait_for(lambda: served_by(gw.post(chat_body()), "sim-b", ka), 5,
             what="requests skipping sim-a")
    for _ in range(4):
        r = gw.post(chat_body())
        check(served_by(r, "sim-b", ka), (r.status, r.headers, r.body))

    # (3) sim-a comes back: a probe success makes the breaker half-open long
    # before its 120 s cool-down, the trial goes to sim-a, and it closes.
    start_sim_on(env, a, port)
    t0 = time.monotonic()
    wait_for(lambda: served_by(gw.post(chat_body()), "sim-a"), 10, interval=0.05,
             what="a request served by the recovered sim-a (the trial)")
    took = time.monotonic() - t0
    check(took < 10, took)

    def closed():
        rs = [gw.post(chat_body()) for _ in range(4)]
        return all(served_by(r, "sim-a") for r in rs)
    wait_for(closed, 10, interval=0.05, what="sim-a serving every request (breaker closed)")
    wait_for(lambda: state_is(gw, ka, "up"), 5, what="sim-a probed up again")
    check(re.search(r"probe: sim-a/sim-a-model up after 2 successes", gw.logs()),
          "up transition not logged")

    # Probe traffic is not client traffic: the access log holds exactly the
    # chat requests sent above, and sim-a counted only chat requests.
    access = gw.access()
    check(all(e.get("path") == "/v1/chat/completions" for e in access),
          [e for e in access if e.get("path") != "/v1/chat/completions"][:3])
    served_a = sum(1 for e in access if e.get("provider") == "sim-a")
    check(a.stats()["requests"] == served_a,
          f"sim-a saw {a.stats()['requests']} chat requests, access log says {served_a}")


def test_probes_disabled_and_reload(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    env.proc_env.pop("BACKSTOP_TEST_PROBE_UNSET_KEY", None)
    cfg = env.config([a, b], probes=dict(FAST_PROBES))
    # An optional provider without its key is disabled: never probed.
    cfg["providers"]["sim-c"] = {"type": "openai-compatible", "base_url": b.url,
                                 "api_key_env": "BACKSTOP_TEST_PROBE_UNSET_KEY",
                                 "optional": True}
    cfg["models"]["other"] = {"targets": [{"provider": "sim-c", "model": "c-model"},
                                          {"provider": "sim-a", "model": "sim-a-model"}]}
    gw = env.gateway(cfg)
    ka, kb = "sim-a/sim-a-model", "sim-b/sim-b-model"
    wait_for(lambda: state_is(gw, ka, "up") and state_is(gw, kb, "up"), 10,
             what="targets probed up")
    db = probes_db(gw)
    check(sorted(db) == [ka, kb], f"targets: {sorted(db)} (sim-a twice in chains, sim-c disabled)")

    # A reload that drops sim-b from every chain removes its record; sim-a's
    # state survives (its check counter keeps growing, it stays up).
    checks_before = probe_record(gw, ka)["checks"]
    cfg2 = env.config([a], probes=dict(FAST_PROBES))
    gw.write_config(cfg2)
    gw.proc.send(signal.SIGHUP)
    wait_for(lambda: "generation 2 published" in gw.logs(), 5, what="reload")
    wait_for(lambda: sorted(probes_db(gw)) == [ka], 5, what="sim-b's record removed")
    rec = probe_record(gw, ka)
    check(rec["state"] == "up" and rec["checks"] >= checks_before, (rec, checks_before))

    # Disabled: nothing is probed and no record remains.
    cfg3 = env.config([a, b], probes={"enabled": False})
    gw.write_config(cfg3)
    gw.proc.send(signal.SIGHUP)
    wait_for(lambda: "generation 3 published" in gw.logs(), 5, what="reload")
    wait_for(lambda: probes_db(gw) == {}, 5, what="probe records dropped")
    time.sleep(0.5)
    check(probes_db(gw) == {}, "probes ran while disabled")
    r = gw.post(chat_body())
    check(served_by(r, "sim-a"), (r.status, r.headers))
