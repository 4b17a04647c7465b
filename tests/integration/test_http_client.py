"""The built-in HTTP/1.1 client and libcurl are interchangeable: every
scenario runs twice, once with the providers on "http_client": "auto" (plain
http goes through gateway/gw_h1.c) and once on "curl", each time with fresh
simulators and a fresh gateway, and what the client saw, what the gateway
logged and what reached the simulators must be the same field by field
(ids and timestamps aside), down to the request bytes on the wire
(test_request_on_the_wire: it told the two paths apart by libcurl's
default Accept header until gw_h1 sent it too).  Then the cases where the
built-in client stands aside: a proxy in the daemon's environment."""
import json
import os
import re
import shutil
import socket
import threading

import harness
from harness import Env, TestFailure, check, chat_body, free_port, silent_port, sse_events, wait_for

MODES = ("auto", "curl")
# Every variable libcurl or the gateway reads for proxies: none may reach a
# parity run from the caller's environment, and the proxy tests set their
# own in their gateway's environment only.
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY")
# Access-log fields that differ from run to run whatever the client.
ACCESS_VARYING = ("ts", "client", "latency_ms", "ttfb_ms", "worker")
RESPONSE_HEADERS = ("content-type", "content-length", "transfer-encoding", "retry-after", "x-request-id")
# The simulator's ids carry a counter of their own process and "created" a
# clock: fresh simulators give the same ids, but the clock moves.
VARYING_JSON = re.compile(rb'"created":\s*\d+')


def plain_env(extra=None):
    e = Env()
    for k in PROXY_VARS:
        e.proc_env.pop(k, None)
    e.proc_env.update(extra or {})
    return e


def settled_stats(sim):
    """The simulator's counters once nothing is in flight, with
    `connections` turned into the connections the gateway opened: each
    admin request the test made (these polls included) came on its own."""
    polls = 0

    def poll():
        nonlocal polls
        polls += 1
        st = sim.stats()
        return st if st["in_flight"] == 0 else None

    st = wait_for(poll, 10, what=f"{sim.name} idle")
    st["connections"] -= polls
    return st


def response_record(r):
    rec = {"status": r.status,
           "headers": {k: v for k, v in sorted(r.headers.items())
                       if k.startswith("x-backstop-") or k in RESPONSE_HEADERS}}
    body = VARYING_JSON.sub(b'"created":0', r.body)
    try:
        rec["body"] = json.loads(body)
    except ValueError:
        rec["body"] = body.decode(errors="replace")
    return rec


def access_record(gw):
    return [{k: v for k, v in sorted(line.items()) if k not in ACCESS_VARYING} for line in gw.access()]


def differences(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: auto={a.get(k, '<absent>')!r} curl={b.get(k, '<absent>')!r}")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: auto={a!r} curl={b!r}"]


def run_mode(mode, setup, exercise, env_extra=None):
    """One run: setup(env) -> (sims, config); exercise(gw, sims) -> record.
    The record gets the access log and every simulator's counters."""
    e = plain_env(env_extra)
    ok = False
    try:
        sims, cfg = setup(e)
        cfg.setdefault("probes", {"enabled": False})  # probes would add connections and requests
        for p in cfg["providers"].values():
            p["http_client"] = mode
        gw = e.gateway(cfg)
        rec = exercise(gw, sims)
        rec["access"] = access_record(gw)
        rec["sims"] = {s.name: settled_stats(s) for s in sims}
        rec["_gw"] = gw
        ok = True
        return rec
    except TestFailure as ex:
        raise TestFailure(f"[{mode}] {ex}\n  logs in {e.dir}") from None
    finally:
        problems = e.close()
        if problems:
            raise TestFailure(f"[{mode}] " + "\n".join(problems) + f"\n  logs in {e.dir}")
        if ok:
            shutil.rmtree(e.dir, ignore_errors=True)


def parity(setup, exercise, env_extra=None):
    """Runs the scenario on both clients, checks the records equal, and
    returns them (auto's first) for the scenario's own checks."""
    recs = [run_mode(m, setup, exercise, env_extra) for m in MODES]
    for r in recs:
        r.pop("_gw")
    diff = differences(recs[0], recs[1])
    check(not diff, "the clients differ:\n  " + "\n  ".join(diff))
    return recs


def two_sims(fault_a=None, fault_b=None, **cfg_extra):
    def setup(e):
        a = e.sim("sim-a", fault=fault_a)
        b = e.sim("sim-b", fault=fault_b)
        cfg = e.config([a, b])
        for k, v in cfg_extra.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        return [a, b], cfg
    return setup


def post_one(body, rid="parity-1"):
    def exercise(gw, sims):
        return {"response": response_record(gw.post(body, headers={"x-request-id": rid}))}
    return exercise


def content_of(events):
    text = ""
    for e in events:
        if e == "[DONE]":
            continue
        for ch in json.loads(e).get("choices") or []:
            text += ch.get("delta", {}).get("content") or ""
    return text


# --- answers


def test_plain_answer(env):
    rec, _ = parity(two_sims(), post_one(chat_body()))
    r = rec["response"]
    check(r["status"] == 200 and r["headers"]["x-backstop-provider"] == "sim-a", r)
    check(r["body"]["choices"][0]["message"]["content"] == "Hello from sim-a. You said: hello there", r)
    check(rec["sims"]["sim-a"]["completed"] == 1 and rec["sims"]["sim-b"]["requests"] == 0, rec["sims"])
    check(rec["sims"]["sim-a"]["last_headers"]["x-request-id"] == "parity-1", rec["sims"]["sim-a"])
    check(rec["sims"]["sim-a"]["connections"] == 1, rec["sims"]["sim-a"])


def test_streamed_answer(env):
    rec, _ = parity(two_sims(fault_a="chunks=7"), post_one(chat_body(stream=True, text="a b c d e f")))
    r = rec["response"]
    events = sse_events(r["body"])
    check(r["status"] == 200 and events[-1] == "[DONE]", r)
    check(content_of(events) == "Hello from sim-a. You said: a b c d e f", events)
    check(rec["sims"]["sim-a"]["stream_requests"] == 1 and rec["sims"]["sim-a"]["completed"] == 1, rec["sims"])


# --- failures and failover


def unreachable_first(url, **timeouts):
    """A chain whose first target is provider "x" at url, then sim-b."""
    def setup(e):
        b = e.sim("sim-b")
        cfg = e.config([b])
        cfg["providers"]["x"] = {"type": "openai-compatible", "base_url": url}
        cfg["models"] = {"sim-chat": {"targets": [{"provider": "x", "model": "d"},
                                                  {"provider": "sim-b", "model": "b"}]}}
        cfg["timeouts"].update(timeouts)
        return [b], cfg
    return setup


def test_failover_connect_refused(env):
    rec, _ = parity(unreachable_first(f"http://127.0.0.1:{free_port()}/v1"), post_one(chat_body()))
    h = rec["response"]["headers"]
    check(rec["response"]["status"] == 200 and h["x-backstop-provider"] == "sim-b", rec["response"])
    check(h["x-backstop-failover"] == "x/d=connect_failed" and h["x-backstop-attempts"] == "2", h)
    check(rec["access"][0]["failover"] == "x/d=connect_failed", rec["access"])


def test_failover_reset(env):
    rec, _ = parity(two_sims(fault_a="reset"), post_one(chat_body()))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and h["x-backstop-failover"] == "sim-a/sim-a-model=connect_failed", h)
    check(rec["sims"]["sim-a"]["aborted"] == 1 and rec["sims"]["sim-a"]["requests"] == 1, rec["sims"]["sim-a"])


def test_failover_503(env):
    # Retried with backoff on the same target, then failed over: every
    # retry is one more request and (the answer closes nothing) no new
    # connection on either client.
    rec, _ = parity(_with_model_retry(two_sims(fault_a="status=503")), post_one(chat_body()))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and "server_error" in h["x-backstop-failover"], h)
    a = rec["sims"]["sim-a"]
    check(a["requests"] == 3 and a["faulted"] == 3, a)
    check(a["connections"] == 1, f"a 503 answer closed the connection: {a}")


def _with_model_retry(setup, **retry):
    def wrapped(e):
        sims, cfg = setup(e)
        cfg["models"]["sim-chat"]["retry"] = dict({"base_ms": 20, "max_ms": 50}, **retry)
        return sims, cfg
    return wrapped


def test_429_retry_after(env):
    # Honoured on the same target: the second try succeeds there.
    rec, _ = parity(two_sims(fault_a="status=429;retry_after=1;count=1"), post_one(chat_body()))
    h = rec["response"]["headers"]
    check(rec["response"]["status"] == 200 and h["x-backstop-provider"] == "sim-a", rec["response"])
    check(h["x-backstop-attempts"] == "2" and rec["sims"]["sim-a"]["requests"] == 2, rec)
    # Over the cap: failed over at once; alone in its chain: the client gets
    # the provider's 429 and its Retry-After.
    rec, _ = parity(_with_model_retry(two_sims(fault_a="status=429;retry_after=60"), retry_after_cap_ms=1000),
                    post_one(chat_body()))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and "rate_limited" in h["x-backstop-failover"], h)

    def alone(e):
        a = e.sim("sim-a", fault="status=429;retry_after=60")
        cfg = e.config([a])
        cfg["models"]["sim-chat"]["retry"] = {"retry_after_cap_ms": 1000}
        return [a], cfg
    rec, _ = parity(alone, post_one(chat_body()))
    r = rec["response"]
    check(r["status"] == 503 and r["headers"].get("retry-after"), r)
    check(rec["access"][0]["error"] == "rate_limited", rec["access"])


def test_client_error_passed_through(env):
    rec, _ = parity(two_sims(fault_a="status=422;message=bad%20thing"), post_one(chat_body()))
    r = rec["response"]
    check(r["status"] == 422 and r["body"]["error"]["type"] == "invalid_request_error", r)
    check(rec["sims"]["sim-b"]["requests"] == 0, rec["sims"])


def test_connect_timeout(env):
    with silent_port() as port:
        rec, _ = parity(unreachable_first(f"http://127.0.0.1:{port}/v1", connect_ms=300), post_one(chat_body()))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and h["x-backstop-failover"] == "x/d=connect_timeout", h)


def test_first_token_timeout(env):
    rec, _ = parity(two_sims(fault_a="hang", timeouts={"first_token_ms": 300}),
                    post_one(chat_body(stream=True)))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and "first_token_timeout" in h["x-backstop-failover"], h)
    check(rec["sims"]["sim-a"]["cancelled"] == 1, rec["sims"]["sim-a"])
    check(sse_events(rec["response"]["body"])[-1] == "[DONE]", rec["response"])
    # And the request's own deadline over a hung provider.
    def exercise(gw, sims):
        r = gw.post(chat_body(), headers={"x-request-id": "dl-1", "x-backstop-timeout-ms": "300"})
        return {"response": response_record(r)}
    rec, _ = parity(two_sims(fault_a="hang", fault_b="hang"), exercise)
    check(rec["response"]["status"] == 504 and rec["response"]["body"]["error"]["code"] == "deadline_exceeded",
          rec["response"])


def test_stream_cut_midway(env):
    def no_continue(setup):
        def wrapped(e):
            sims, cfg = setup(e)
            cfg["models"]["sim-chat"]["continue_streams"] = False
            return sims, cfg
        return wrapped
    body = chat_body(stream=True, text="a b c d e f g h")
    rec, _ = parity(no_continue(two_sims(fault_a="close_after=3")), post_one(body))
    last = json.loads(sse_events(rec["response"]["body"])[-1])
    check(last.get("error", {}).get("code") == "stream_cut", rec["response"])
    check(rec["sims"]["sim-b"]["requests"] == 0 and rec["sims"]["sim-a"]["aborted"] == 1, rec["sims"])
    # Continued on the backup: the client's bytes are the same on both.
    rec, _ = parity(two_sims(fault_a="close_after=3"), post_one(body))
    events = sse_events(rec["response"]["body"])
    check(events[-1] == "[DONE]" and rec["sims"]["sim-b"]["requests"] == 1, rec)


def test_error_event(env):
    body = chat_body(stream=True, text="a b c d e f g h")
    rec, _ = parity(two_sims(fault_a="stream_error_after=0"), post_one(body))
    h = rec["response"]["headers"]
    check(h["x-backstop-provider"] == "sim-b" and "stream_error" in h["x-backstop-failover"], h)
    check("error" not in rec["response"]["body"], rec["response"])
    # Mid-stream: continued on the backup, one stream for the client.
    rec, _ = parity(two_sims(fault_a="stream_error_after=3"), post_one(body))
    check(rec["access"][0]["failover"] == "sim-a/sim-a-model=stream_error", rec["access"])
    check(sse_events(rec["response"]["body"])[-1] == "[DONE]", rec["response"])
    check(rec["sims"]["sim-a"]["requests"] == 1 and rec["sims"]["sim-b"]["requests"] == 1, rec["sims"])


# --- the request and the connections


def test_large_body_intact(env):
    text = "".join(f"w{i} " for i in range(80000))  # ~540 KiB
    body = chat_body(text=text)
    size = len(json.dumps(body))
    check(400 * 1024 < size < 600 * 1024, size)
    rec, _ = parity(two_sims(limits={"max_body_bytes": 640 * 1024}), post_one(body))
    check(rec["response"]["status"] == 200, rec["response"])
    got = rec["sims"]["sim-a"]["last_request"]["messages"][0]["content"]
    check(got == text, f"the body reached the simulator changed ({len(got)} of {len(text)} characters)")


def test_keep_alive_reuse(env):
    n = 30

    def exercise(gw, sims):
        statuses = []
        for i in range(n):
            r = gw.post(chat_body(stream=bool(i % 2)), headers={"x-request-id": f"ka-{i}"})
            statuses.append((r.status, r.header("x-backstop-attempts")))
        return {"statuses": statuses}
    rec, _ = parity(two_sims(workers=1), exercise)
    check(rec["statuses"] == [(200, "1")] * n, rec["statuses"])
    a = rec["sims"]["sim-a"]
    check(a["requests"] == n and a["completed"] == n, a)
    check(1 <= a["connections"] <= 2, f"{n} sequential requests took {a['connections']} upstream connections")


def test_big_stream(env):
    # Far more than the socket buffers hold: the relay pauses and resumes
    # the upstream transfer; the client's bytes must not change.
    rec, _ = parity(two_sims(fault_a="words=40000"), post_one(chat_body(stream=True)))
    events = sse_events(rec["response"]["body"])
    check(events[-1] == "[DONE]" and len(events) > 40000, len(events))
    check(rec["sims"]["sim-a"]["completion_tokens"] == 40000, rec["sims"]["sim-a"])


def test_idle_connection_closed_by_the_provider(env):
    # The provider restarts between two requests: the pooled connection is
    # dead, and the next request must go on a new one without costing an
    # attempt (libcurl's liveness check; the built-in client's retry_fresh).
    def exercise(gw, sims):
        first = gw.post(chat_body(), headers={"x-request-id": "idle-1"})
        sims[0].proc.stop()
        again = restart[0](sims[0].port)
        sims[0] = again
        second = gw.post(chat_body(), headers={"x-request-id": "idle-2"})
        return {"first": response_record(first), "second": response_record(second)}
    restart = []

    def setup(e):
        a = e.sim("sim-a")
        restart[:] = [lambda port: e.sim("sim-a-again", port=port)]
        return [a], e.config([a], workers=1)
    rec, _ = parity(setup, exercise)
    check(rec["second"]["status"] == 200 and rec["second"]["headers"]["x-backstop-attempts"] == "1", rec["second"])
    check(rec["sims"]["sim-a-again"]["requests"] == 1 and rec["sims"]["sim-a-again"]["connections"] == 1, rec["sims"])


def test_localhost_name(env):
    def setup(e):
        a = e.sim("sim-a")
        b = e.sim("sim-b")
        cfg = e.config([a, b])
        cfg["providers"]["sim-a"]["base_url"] = f"http://localhost:{a.port}/v1"
        return [a, b], cfg
    rec, _ = parity(setup, post_one(chat_body()))
    h = rec["response"]["headers"]
    check(rec["response"]["status"] == 200 and h["x-backstop-provider"] == "sim-a", rec["response"])
    check("x-backstop-failover" not in h and rec["sims"]["sim-a"]["completed"] == 1, rec)


# --- the request on the wire


class HeadCapture:
    """A listener that reads one request per connection, keeps its head and
    body, and answers a fixed chat completion, then closes."""

    ANSWER = json.dumps({"id": "chatcmpl-cap", "object": "chat.completion", "created": 1,
                         "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                                                    "message": {"role": "assistant", "content": "ok"}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stopping = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    hdrs = [tuple(p.strip() for p in l.split(":", 1)) for l in lines[1:]]
                    want = int(dict((k.lower(), v) for k, v in hdrs).get("content-length", "0"))
                    while len(body) < want:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    self.requests.append({"line": lines[0], "headers": hdrs, "body": body})
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (len(self.ANSWER), self.ANSWER))
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.t.join(5)
        self.sock.close()


def test_request_on_the_wire(env):
    """What the provider receives: the request line, the header set (the
    port in Host aside) and the body bytes, for a numeric and a named host,
    a small body and one of hundreds of KiB."""
    big = chat_body(text="".join(f"w{i} " for i in range(60000)))
    for host, body in (("127.0.0.1", chat_body()), ("localhost", chat_body(stream=True)), ("127.0.0.1", big)):
        heads = {}
        for mode in MODES:
            cap = HeadCapture()

            def setup(e):
                cfg = e.config([])
                cfg["providers"] = {"cap": {"type": "openai-compatible",
                                            "base_url": f"http://{host}:{cap.port}/v1"}}
                cfg["models"] = {"sim-chat": {"targets": [{"provider": "cap", "model": "m"}]}}
                return [], cfg
            try:
                rec = run_mode(mode, setup, post_one(body))
            finally:
                cap.stop()
            check(len(cap.requests) == 1, (mode, host, cap.requests))
            q = cap.requests[0]
            check(json.loads(q["body"])["messages"] == body["messages"], (mode, host))
            heads[mode] = {"line": q["line"], "body": q["body"], "status": rec["response"]["status"],
                           "headers": sorted((k.lower(), v.replace(str(cap.port), "PORT"))
                                             for k, v in q["headers"])}
        diff = differences(heads["auto"], heads["curl"])
        check(not diff, f"{host}, {len(heads['auto']['body'])} bytes: the requests differ on the wire:\n  "
              + "\n  ".join(diff)[:3000])


# --- a proxy in the environment: the built-in client stands aside


def proxy_run(var, mode):
    """A gateway whose environment names a proxy on a port nobody listens
    on (no_proxy unset): libcurl sends plain http to that proxy, so every
    attempt is a connect failure and no request reaches the providers."""
    port = free_port()
    extra = {var: f"http://127.0.0.1:{port}"}

    def exercise(gw, sims):
        r = gw.post(chat_body(), headers={"x-request-id": "proxy-1"})
        return {"response": response_record(r), "log": gw.logs()}
    rec = run_mode(mode, two_sims(), exercise, env_extra=extra)
    r = rec["response"]
    check(r["status"] == 503 and r["body"]["error"]["code"] == "all_targets_failed", r)
    check("sim-a/sim-a-model: connect_failed" in r["body"]["error"]["message"] and
          "sim-b/sim-b-model: connect_failed" in r["body"]["error"]["message"], r)
    for s in rec["sims"].values():
        check(s["requests"] == 0 and s["connections"] == 0, f"reached {s['name']} past the proxy: {s}")
    check(f"{var} is set: plain-http upstreams go through libcurl" in rec["log"], rec["log"][-2000:])
    rec.pop("log")
    return rec


def test_proxy_in_environment(env):
    before = {k: os.environ.get(k) for k in PROXY_VARS}
    for var in ("http_proxy", "ALL_PROXY"):
        recs = [proxy_run(var, m) for m in MODES]
        for r in recs:
            r.pop("_gw")
        diff = differences(recs[0], recs[1])
        check(not diff, f"{var}: the clients differ:\n  " + "\n  ".join(diff))
    # The variables went to those gateways' environments only.
    check({k: os.environ.get(k) for k in PROXY_VARS} == before, "a proxy variable leaked into the runner")


def test_uppercase_http_proxy_ignored(env):
    # libcurl never reads HTTP_PROXY for http:// (it could be set by a CGI
    # request's Proxy header): both clients go straight to the provider.
    rec, _ = parity(two_sims(), post_one(chat_body()), env_extra={"HTTP_PROXY": f"http://127.0.0.1:{free_port()}"})
    check(rec["response"]["status"] == 200 and rec["sims"]["sim-a"]["completed"] == 1, rec)


# --- the configuration


def test_http_client_config_values(env):
    import subprocess
    for value, ok in (("auto", True), ("curl", True), ("bogus", False), ("", False), (1, False)):
        cfg = env.config([])
        cfg["providers"] = {"p": {"type": "openai-compatible", "base_url": "http://127.0.0.1:9/v1",
                                  "http_client": value}}
        cfg["models"] = {"m": {"targets": [{"provider": "p", "model": "x"}]}}
        cfg.update(listen="127.0.0.1:0", state_dir="state")
        path = os.path.join(env.dir, "c.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        p = subprocess.run([os.path.join(harness.BIN, "backstopd"), "-t", "-c", path],
                           capture_output=True, text=True, timeout=20)
        out = p.stdout + p.stderr
        if ok:
            check(p.returncode == 0, (value, out))
        else:
            check(p.returncode == 1 and "$.providers.p.http_client" in out, (value, out))
