"""Operator overrides through backstopctl against a running gateway: version
pins, forced failures (each compared with the simulated provider's fault of
the same meaning), drains, their durability across reload and restart, the
socket refusing another uid, usage errors."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import check, chat_body, sse_events, wait_for
from test_ctl_smoke import ctl, ctl_config

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def ok(gw, *args, stdin=None):
    rc, out, err = ctl(gw, *args, stdin=stdin)
    check(rc == 0, (args, rc, out, err))
    return out


def ok_json(gw, *args):
    return json.loads(ok(gw, "--json", *args))


def quiet_config(env, sims, **extra):
    """Breakers and probes out of the way: one failure must not change what
    the next request sees."""
    cfg = ctl_config(env, sims)
    cfg["breaker"] = {"consecutive_failures": 1000, "error_rate_pct": 100, "min_requests": 100000}
    cfg["probes"] = {"enabled": False}
    cfg["timeouts"]["first_token_ms"] = 400
    cfg.update(extra)
    return cfg


def events_for(gw, rid):
    return [e for e in (json.loads(v) for v in gw.lmdb("events")) if e["request_id"] == rid]


def outcome(gw, body, rid):
    """What a client and the event history see of one request."""
    r = gw.post(body, headers={"x-request-id": rid})
    fo = r.header("x-backstop-failover") or ""
    n = len([x for x in fo.split(",") if x])
    evs = wait_for(lambda: len(events_for(gw, rid)) >= n and events_for(gw, rid), 5,
                   what=f"events of {rid}") if n else []
    # A repair retry adds an event the header does not count: take the list
    # once it has stopped growing (the controller writes every 100 ms).
    while n:
        time.sleep(0.3)
        later = events_for(gw, rid)
        if len(later) == len(evs):
            break
        evs = later
    text = ""
    if body.get("stream"):
        events = sse_events(r.body)
        shape = [("DONE" if e == "[DONE]" else "error" if "error" in json.loads(e) else "chunk")
                 for e in events]
        for e in events:
            if e != "[DONE]" and "choices" in json.loads(e) and json.loads(e)["choices"]:
                text += json.loads(e)["choices"][0]["delta"].get("content") or ""
        final = [s for s in shape if s != "chunk"]
    else:
        doc = r.json()
        final = sorted(doc.keys())
        if "choices" in doc:
            msg = doc["choices"][0]["message"]
            final.append((doc["choices"][0]["finish_reason"], msg.get("content"),
                          "tool_calls" in msg))
        text = doc.get("error", {}).get("code") if "error" in doc else ""
    return {"status": r.status, "provider": r.header("x-backstop-provider"),
            "attempts": r.header("x-backstop-attempts"), "failover": fo,
            "events": [(e["from"], e["to"], e["reason"]) for e in evs], "final": final,
            "text": text}


# forced mode, equivalent simulated-provider fault, request
EQUIVALENTS = [
    ("status:503", "status=503", {}),
    ("status:429,retry-after=1", "status=429;retry_after=1", {}),
    ("status:401", "status=401", {}),
    ("hang", "hang", {}),
    ("reset", "reset", {}),
    ("stream-cut:0", "close_after=0", {"stream": True}),
    ("stream-cut:3", "close_after=3", {"stream": True}),
    ("stream-error:0", "stream_error_after=0", {"stream": True}),
    ("stream-error:2", "stream_error_after=2", {"stream": True}),
    ("empty-tool-turn", "empty_tool_turn", {"tools": TOOLS}),
    ("empty-tool-turn", "empty_tool_turn", {"tools": TOOLS, "stream": True}),
    ("latency:300", "latency_ms=300", {}),
]


def fresh(env, sims, name):
    """A gateway of its own: breakers and local trips of one run must not
    change what the other sees (a 401 opens the breaker at once)."""
    return env.gateway(quiet_config(env, sims), name=name)


def retire(env, gw):
    check(gw.stop() == 0, "controller did not stop cleanly")
    env.gateways.remove(gw)
    problems = [l for l in gw.logs().splitlines() if harness.SANITIZER_RE.search(l)]
    check(not problems, problems)


def test_forced_failures_match_simulated_ones(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    for i, (mode, sim_fault, extra) in enumerate(EQUIVALENTS):
        body = chat_body(text="one two three four five six seven", **extra)
        gw = fresh(env, [a, b], f"real-{i}")
        a.fault(sim_fault)
        real = outcome(gw, body, f"real-{i}")
        a.clear()
        a.reset()
        retire(env, gw)
        gw = fresh(env, [a, b], f"forced-{i}")
        f = ok_json(gw, "fail", "sim-a", "--mode", mode, "--for", "5m")["fault"]
        forced = outcome(gw, body, f"forced-{i}")
        ok(gw, "unfail", f["id"])
        retire(env, gw)
        calls = a.stats()["requests"]
        if mode.startswith("latency"):
            check(calls >= 1, f"{mode}: latency must still call the upstream")
        else:
            check(calls == 0, f"{mode}: the upstream was called {calls} time(s)")
        for k in ("status", "provider", "attempts", "failover", "events", "final"):
            check(real[k] == forced[k], f"{mode} vs {sim_fault}: {k} differs:\n"
                  f"  simulated: {real}\n  forced:    {forced}")
        if extra.get("stream") and ("cut:0" in mode or "error:0" in mode):
            # Nothing of the failed target reached the client: the same answer.
            check(real["text"] == forced["text"], (mode, real["text"], forced["text"]))


def test_forced_connect_timeout(env):
    """No simulated fault means "connect times out"; the class is the one a
    real one gets (test_failover.test_connect_timeout_fails_over)."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = quiet_config(env, [a, b])
    cfg["timeouts"]["connect_ms"] = 200
    gw = env.gateway(cfg)
    ok(gw, "fail", "sim-a/sim-a-model", "--mode", "timeout")
    t0 = time.monotonic()
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=connect_timeout", r.headers)
    check(time.monotonic() - t0 >= 0.19, "the connect timeout did not wait connect_ms")
    check(a.stats()["requests"] == 0, "the upstream was called")


def test_rate_model_key_and_breaker(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = ctl_config(env, [a, b])
    cfg["probes"] = {"enabled": False}
    cfg["workers"] = 1
    cfg["breaker"] = {"consecutive_failures": 3, "cooldown_ms": 60000}
    cfg["models"]["other"] = {"targets": [{"provider": "sim-a", "model": "sim-a-model"}]}
    gw = env.gateway(cfg)
    # --model: only the named chain fails.  (A client error: it goes back
    # as is and leaves the breaker alone.)
    ok(gw, "fail", "sim-a", "--mode", "status:400", "--model", "other")
    check(gw.post(chat_body()).header("x-backstop-provider") == "sim-a", "sim-chat was hit")
    check(gw.post(chat_body(model="other")).status == 400, "other was not hit")
    ok(gw, "unfail", "--all")
    # --key: only while the provider's key has that fingerprint.
    ok(gw, "keys", "set", "sim-a", stdin="sk-first\n")
    fpr = [k for k in ok_json(gw, "keys", "list")["keys"] if k["provider"] == "sim-a"][0]["fingerprint"]
    ok(gw, "fail", "sim-a", "--mode", "status:400", "--key", fpr, "--model", "other")
    check(gw.post(chat_body(model="other")).status == 400, "the key's fault did not apply")
    ok(gw, "keys", "set", "sim-a", stdin="sk-second\n")
    check(gw.post(chat_body(model="other")).status == 200, "the fault outlived its key")
    ok(gw, "unfail", "--all")
    # --rate 50 on one worker: every other attempt.
    a.reset()
    ok(gw, "fail", "sim-a", "--mode", "status:400", "--rate", "50", "--model", "other")
    st = [gw.post(chat_body(model="other")).status for _ in range(10)]
    check(st.count(400) == 5 and a.stats()["requests"] == 5, (st, a.stats()["requests"]))
    ok(gw, "unfail", "--all")
    # A forced failure trips the breaker as a real one does.
    ok(gw, "fail", "sim-a", "--mode", "reset")
    for _ in range(3):
        gw.post(chat_body())
    wait_for(lambda: [t for t in ok_json(gw, "targets")["targets"]
                      if t["target"] == "sim-a/sim-a-model" and t["breaker"]["state"] == "open"],
             5, what="breaker open from forced failures")
    t = [t for t in ok_json(gw, "targets")["targets"] if t["target"] == "sim-a/sim-a-model"][0]
    check(t["faults"] and t["faults"][0]["mode"] == "reset", t)
    check("reset" in ok(gw, "targets"), "targets table does not show the fault")
    check("reset" in ok(gw, "health"), "health table does not show the fault")


def test_fault_expires(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(quiet_config(env, [a, b]))
    ok(gw, "fail", "sim-a", "--mode", "status:503", "--for", "2s")
    check(gw.post(chat_body()).header("x-backstop-provider") == "sim-b", "fault not applied")
    check(len(ok_json(gw, "faults")["faults"]) == 1, "fault not listed")
    wait_for(lambda: gw.post(chat_body()).header("x-backstop-provider") == "sim-a", 15,
             interval=0.3, what="the fault to expire")
    check(ok_json(gw, "faults")["faults"] == [], "an expired fault is still listed")


def test_pin_changes_upstream_model(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = quiet_config(env, [a, b])
    gw = env.gateway(cfg)
    gw.post(chat_body())
    check(a.stats()["last_request"]["model"] == "sim-a-model", a.stats()["last_request"])
    out = ok(gw, "pin", "sim-chat", "sim-a-model-2024-08-06")
    check("pinned" in out, out)
    gw.post(chat_body())
    check(a.stats()["last_request"]["model"] == "sim-a-model-2024-08-06", a.stats()["last_request"])
    # A target's own pin wins over the chain's.
    ok(gw, "pin", "sim-chat", "b-exact", "--target", "sim-b/sim-b-model")
    ok(gw, "fail", "sim-a", "--mode", "status:503")
    gw.post(chat_body())
    check(b.stats()["last_request"]["model"] == "b-exact", b.stats()["last_request"])
    ok(gw, "unfail", "sim-a")
    show = ok_json(gw, "config", "show")
    marks = {m["path"]: m for m in show["overridden"]}
    check(marks["$.models.sim-chat.targets[0].model"]["value"] == "sim-a-model-2024-08-06", marks)
    check(marks["$.models.sim-chat.targets[1].model"]["configured"] == "sim-b-model", marks)
    check(show["config"]["models"]["sim-chat"]["targets"][1]["model"] == "b-exact", show)
    check("pin" in ok(gw, "config", "show"), "config show does not mark the pins")
    pins = ok_json(gw, "pins")["pins"]
    check(len(pins) == 2 and all(p["active"] for p in pins), pins)
    ok(gw, "unpin", "sim-chat")
    gw.post(chat_body())
    check(a.stats()["last_request"]["model"] == "sim-a-model", a.stats()["last_request"])
    rc, out, err = ctl(gw, "pin", "nope", "v1")
    check(rc == 1 and "no model" in err, (rc, err))
    rc, out, err = ctl(gw, "unpin", "sim-chat")
    check(rc == 1 and "not pinned" in err, (rc, err))


def test_drain_lets_a_stream_finish(env):
    a = env.sim("sim-a", fault="chunk_delay_ms=150")
    b = env.sim("sim-b")
    gw = env.gateway(quiet_config(env, [a, b]))
    result = {}

    def slow_stream():
        result["r"] = gw.post(chat_body(stream=True, text="a b c d e f g h i j"), timeout=30)

    t = threading.Thread(target=slow_stream)
    t.start()
    wait_for(lambda: a.stats()["in_flight"] == 1, 5, what="the stream in flight")
    ok(gw, "drain", "sim-a")
    r = gw.post(chat_body(), headers={"x-request-id": "after-drain"})
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", r.headers)
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=drained", r.headers)
    t.join(30)
    s = result["r"]
    events = sse_events(s.body)
    check(s.status == 200 and s.header("x-backstop-provider") == "sim-a" and events[-1] == "[DONE]",
          (s.status, s.headers, events[-2:]))
    check("error" not in s.body.decode(), "the stream in flight was broken by the drain")
    ev = wait_for(lambda: events_for(gw, "after-drain"), 5, what="the drained event")
    check(ev[0]["reason"] == "drained" and ev[0]["to"] == "sim-b/sim-b-model", ev)
    t = [t for t in ok_json(gw, "targets")["targets"] if t["target"] == "sim-a/sim-a-model"][0]
    check(t["drain"]["target"] == "sim-a", t)
    check("drained" in ok(gw, "targets"), "targets table does not show the drain")
    check("drained" in ok(gw, "health"), "health table does not show the drain")
    ok(gw, "undrain", "sim-a")
    check(gw.post(chat_body()).header("x-backstop-provider") == "sim-a", "undrain did not apply")


def test_overrides_survive_reload_and_restart(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = quiet_config(env, [a, b])
    gw = env.gateway(cfg)
    ok(gw, "pin", "sim-chat", "pinned-v1", "--target", "sim-b/sim-b-model")
    ok(gw, "fail", "sim-a/sim-a-model", "--mode", "status:500", "--for", "1h")

    def check_in_force(g, what):
        r = g.post(chat_body())
        check(r.header("x-backstop-provider") == "sim-b", (what, r.headers))
        check(b.stats()["last_request"]["model"] == "pinned-v1", (what, b.stats()["last_request"]))

    check_in_force(gw, "before")
    ok(gw, "reload")
    check_in_force(gw, "after reload")
    gw.proc.send(signal.SIGHUP)
    time.sleep(0.5)
    check_in_force(gw, "after SIGHUP")
    check(gw.stop() == 0, "controller did not stop cleanly")
    env.gateways.remove(gw)
    gw2 = env.gateway(gw.config)
    check_in_force(gw2, "after restart")
    check(len(ok_json(gw2, "faults")["faults"]) == 1 and len(ok_json(gw2, "pins")["pins"]) == 1,
          "overrides not listed after restart")
    ok(gw2, "drain", "sim-b/sim-b-model")
    ok(gw2, "unfail", "--all")
    check(gw2.stop() == 0, "controller did not stop cleanly")
    env.gateways.remove(gw2)
    gw3 = env.gateway(gw.config)
    r = gw3.post(chat_body())
    check(r.header("x-backstop-provider") == "sim-a", ("drain lost in restart", r.headers))
    audit = ok_json(gw3, "audit")["audit"]
    done = [(e["cmd"], e["ok"], e["uid"]) for e in audit]
    for cmd in ("pin", "fail", "reload", "drain", "unfail"):
        check((cmd, True, os.geteuid()) in done, f"{cmd} not audited: {done}")


def test_second_uid_is_refused(env):
    a = env.sim("sim-a")
    gw = env.gateway(ctl_config(env, [a]))
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        print("SKIP: needs root and setpriv to run backstopctl as another uid")
        return
    # Let the other uid reach the socket's directory: the socket's own mode
    # (0600) is what must refuse it.
    for d in (env.dir, gw.dir):
        os.chmod(d, 0o755)
    binpath = os.path.abspath(os.path.join(harness.BIN, "backstopctl"))
    p = subprocess.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", binpath,
                        "-s", os.path.join(gw.dir, "admin.sock"), "fail", "sim-a", "--mode",
                        "reset"], capture_output=True, text=True, timeout=20)
    if "Operation not permitted" in p.stderr and "setpriv" in p.stderr:
        print("SKIP: setpriv cannot change uid here:", p.stderr.strip())
        return
    check(p.returncode == 1 and "Permission denied" in p.stderr, (p.returncode, p.stderr))
    check(ok_json(gw, "faults")["faults"] == [], "the other uid's command went through")
    check(gw.post(chat_body()).status == 200, "gateway hurt")


def test_usage_errors_and_bad_requests(env):
    a = env.sim("sim-a")
    gw = env.gateway(ctl_config(env, [a]))
    bad = [
        ("fail", "sim-a"),                                     # no --mode
        ("fail", "sim-a", "--mode", "explode"),                # unknown mode
        ("fail", "sim-a", "--mode", "status:200"),             # not an error status
        ("fail", "sim-a", "--mode", "status:429,retry-after=x"),
        ("fail", "sim-a", "--mode", "latency"),                # needs MS
        ("fail", "sim-a", "--mode", "hang:3"),                 # takes no argument
        ("fail", "sim-a", "--mode", "reset", "--rate", "0"),
        ("fail", "sim-a", "--mode", "reset", "--rate", "101"),
        ("fail", "sim-a", "--mode", "reset", "--for", "soon"),
        ("fail", "sim-a", "--mode", "reset", "--for", "0s"),
        ("fail", "sim-a", "--mode", "reset", "--bogus", "1"),
        ("fail", "sim-a", "sim-b", "--mode", "reset"),
        ("fail", "--mode", "reset"),
        ("pin", "sim-chat"),
        ("pin", "sim-chat", "v1", "--target", "no-slash"),
        ("unpin",),
        ("unfail",),
        ("unfail", "f1", "--all"),
        ("undrain",),
        ("drain",),
        ("pins", "extra"),
        ("faults", "--json-ish"),
    ]
    for args in bad:
        rc, out, err = ctl(gw, *args)
        check(rc == 2 and "usage" in err, (args, rc, out, err))
    rc, out, err = ctl(gw, "fail", "nowhere", "--mode", "reset")
    check(rc == 1 and "neither a provider nor a target" in err, (rc, err))
    rc, out, err = ctl(gw, "fail", "sim-a", "--mode", "reset", "--for", "30d")
    check(rc == 2, (rc, err))
    rc, out, err = ctl(gw, "fail", "sim-a", "--mode", "reset", "--for", "2h")
    check(rc == 1 and "at most" in err, (rc, err))
    rc, out, err = ctl(gw, "unfail", "f999")
    check(rc == 1 and "no forced failure" in err, (rc, err))
    # Malformed requests straight on the socket: an error each, never a crash.
    path = os.path.join(gw.dir, "admin.sock")
    lines = [b'{"cmd": "fail", "args": {"target": "sim-a"}}',
             b'{"cmd": "fail", "args": {"target": "sim-a", "mode": 5}}',
             b'{"cmd": "fail", "args": {"target": "sim-a", "mode": "reset", "rate": 1000}}',
             b'{"cmd": "unfail", "args": {"all": false}}',
             b'{"cmd": "unfail", "args": {"id": "f1", "all": true}}',
             b'{"cmd": "undrain", "args": {}}',
             b'{"cmd": "pin", "args": {"model": "sim-chat", "version": "has space"}}',
             b'{"cmd": "pin", "args": {"model": "sim-chat", "version": "v", "target": "sim-a/x"}}',
             b'{"cmd": "drain", "args": {"target": ""}}',
             b'{"cmd": "fail", "args": {"target": "sim-a", "mode": "status:4000000000000"}}',
             b'[1, 2]', b'{"cmd": "pins", "args": {"x": 1}}']
    for line in lines:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(path)
        s.sendall(line + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        resp = json.loads(data)
        check(resp["ok"] is False and resp["error"]["code"], (line, resp))
    check(ok_json(gw, "faults")["faults"] == [] and ok_json(gw, "drains")["drains"] == [],
          "a rejected request changed state")
    check(gw.proc.alive() and gw.post(chat_body()).status == 200, "controller or gateway hurt")


def compare_on_translated(env, typ, sim_a, cases):
    """Each forced mode on sim-a (a typ target, sim-b an OpenAI one behind
    it) against sim-a's own fault of the same meaning: both fail over, the
    client, the attempts and the event history see the same, and sim-a no
    request."""
    from adapters import mixed_config
    b = env.sim("sim-b")
    for i, (mode, sim_fault, extra) in enumerate(cases):
        body = chat_body(text="one two three four five six seven", **extra)
        cfg = quiet_config(env, [sim_a, b])
        cfg["providers"] = mixed_config(env, [(sim_a, typ), (b, "openai")])["providers"]
        gw = env.gateway(cfg, name=f"{typ}-real-{i}")
        sim_a.fault(sim_fault)
        real = outcome(gw, body, f"{typ}-real-{i}")
        sim_a.clear()
        sim_a.reset()
        retire(env, gw)
        gw = env.gateway(cfg, name=f"{typ}-forced-{i}")
        ok_json(gw, "fail", "sim-a", "--mode", mode, "--for", "5m")
        forced = outcome(gw, body, f"{typ}-forced-{i}")
        retire(env, gw)
        check(sim_a.stats()["requests"] == 0, f"{mode}: the upstream was called")
        check(forced["provider"] == "sim-b" and forced["failover"], f"{mode} on {typ}: no failover: {forced}")
        for k in ("status", "provider", "attempts", "failover", "events", "final"):
            check(real[k] == forced[k], f"{mode} vs {sim_fault} on {typ}: {k} differs:\n"
                  f"  simulated: {real}\n  forced:    {forced}")


def test_forced_failures_on_a_translated_target(env):
    # The made-up answer is OpenAI-shaped whatever the target's format: on an
    # Anthropic target it must fail the same way as the Anthropic simulator's
    # own fault of the same meaning.
    cases = [
        ("status:503", "status=503", {}),
        ("status:429,retry-after=1", "status=429;retry_after=1", {}),
        ("reset", "reset", {}),
        ("stream-cut:0", "close_after=0", {"stream": True}),
        ("hang", "hang", {}),
    ]
    # Not stream-error: an Anthropic error event names its kind
    # (overloaded_error, api_error...) and is classified by it, while the
    # forced one is the same stream_error on every format (docs/admin.md).
    compare_on_translated(env, "anthropic", env.sim("sim-a"), cases)


def test_forced_failures_on_a_bedrock_target(env):
    # A forced failure on a Bedrock target is read with the OpenAI adapter:
    # no request is sent, so its SigV4 signature and event-stream framing
    # play no part, and it must fail over as the Bedrock simulator's own
    # fault does.
    from adapters import bedrock_sim
    cases = [
        ("status:503", "status=503", {}),
        ("reset", "reset", {}),
        ("stream-cut:0", "close_after=0", {"stream": True}),
    ]
    compare_on_translated(env, "bedrock", bedrock_sim(env, "sim-a"), cases)
