"""Failover across a chain: the request succeeds while any target can serve."""
import json

from harness import check, chat_body, free_port, silent_port, sse_events, wait_for


def test_connect_refused_fails_over(env):
    b = env.sim("sim-b")
    cfg = env.config([b])
    dead = free_port()
    cfg["providers"]["dead"] = {"type": "openai-compatible", "base_url": f"http://127.0.0.1:{dead}/v1"}
    cfg["models"] = {"sim-chat": {"targets": [{"provider": "dead", "model": "d"},
                                              {"provider": "sim-b", "model": "b"}]}}
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-provider") == "sim-b", r.headers)
    check(r.header("x-backstop-attempts") == "2", r.headers)
    check(r.header("x-backstop-failover") == "dead/d=connect_failed", r.headers)


def test_503_fails_over_and_stream(env):
    a = env.sim("sim-a", fault="status=503")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True))
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-provider") == "sim-b", r.headers)
    check("server_error" in r.header("x-backstop-failover"), r.headers)
    events = sse_events(r.body)
    check(events[-1] == "[DONE]" and "Hello from sim-b" in "".join(
        json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1] if json.loads(e)["choices"]),
        events)


def test_error_event_before_first_byte_is_invisible(env):
    a = env.sim("sim-a", fault="stream_error_after=0")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(b"error" not in r.body, r.body)
    check("stream_error" in r.header("x-backstop-failover"), r.headers)


def _one_answer_from_b(r):
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(b"error" not in r.body, r.body)
    events = sse_events(r.body)
    check(events[-1] == "[DONE]", events)
    chunks = [json.loads(e) for e in events[:-1]]
    roles = [c for c in chunks if c["choices"] and "role" in c["choices"][0]["delta"]]
    check(len(roles) == 1 and chunks[0] is roles[0], chunks)   # one preamble, b's, first
    check(all(c["id"] == chunks[0]["id"] for c in chunks), chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    check("Hello from sim-b" in text, text)


def test_role_chunk_then_error_event_is_invisible(env):
    # The stream commits on its first event with content: a role-only
    # preamble followed by an error event is an invisible failover (issue 12).
    a = env.sim("sim-a", fault="stream_error_after=1")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True))
    _one_answer_from_b(r)
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=stream_error", r.headers)
    check(a.stats()["requests"] == 1, a.stats())


def test_role_chunk_then_cut_is_invisible(env):
    a = env.sim("sim-a", fault="close_after=1")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True))
    _one_answer_from_b(r)
    check("=stream_cut" in r.header("x-backstop-failover"), r.headers)


def test_client_error_returned_as_is(env):
    a = env.sim("sim-a", fault="status=422;message=bad%20thing")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body())
    check(r.status == 422, (r.status, r.body))
    check(b.stats()["requests"] == 0, "a client error was failed over")


def test_all_down(env):
    a = env.sim("sim-a", fault="status=500")
    b = env.sim("sim-b", fault="reset")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body())
    check(r.status == 503, (r.status, r.body))
    e = r.json()["error"]
    check(e["code"] == "all_targets_failed", e)
    check("sim-a/sim-a-model: server_error (HTTP 500); sim-b/sim-b-model: connect_failed" in e["message"],
          e["message"])
    check("sim-b/sim-b-model: connect_failed" in e["message"], e["message"])
    check(r.header("retry-after"), r.headers)


def test_first_token_timeout_fails_over(env):
    a = env.sim("sim-a", fault="hang")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["timeouts"]["first_token_ms"] = 300
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check("first_token_timeout" in r.header("x-backstop-failover"), r.headers)


def test_role_chunk_then_silence_is_a_first_token_timeout(env):
    # A role-only preamble is not a first token: a target that says nothing
    # after it is failed over invisibly when first_token_ms runs out.
    a = env.sim("sim-a", fault="chunk_delay_ms=5000;delay_after=1")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["timeouts"]["first_token_ms"] = 300
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    _one_answer_from_b(r)
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=first_token_timeout", r.headers)


def test_deadline(env):
    a = env.sim("sim-a", fault="hang")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(), headers={"x-backstop-timeout-ms": "300"})
    check(r.status == 504, (r.status, r.body))
    check(r.json()["error"]["code"] == "deadline_exceeded", r.body)


def test_cut_after_bytes_ends_with_error_event(env):
    a = env.sim("sim-a", fault="close_after=3")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["models"]["sim-chat"]["continue_streams"] = False
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True, text="a b c d e f g h"))
    check(r.status == 200, r.status)
    events = sse_events(r.body)
    last = json.loads(events[-1])
    check("error" in last and last["error"]["code"] == "stream_cut", events[-2:])
    check(b.stats()["requests"] == 0, "continuation is off; the backup must not be called")


def test_failover_events_recorded_and_bounded(env):
    a = env.sim("sim-a", fault="reset")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["events"] = {"max_history": 100}
    cfg["breaker"] = {"consecutive_failures": 1000, "error_rate_pct": 100, "min_requests": 100000}
    gw = env.gateway(cfg)
    r = gw.post(chat_body(), headers={"x-request-id": "evt-1"})
    check(r.status == 200, r.status)
    ev = wait_for(lambda: [json.loads(v) for v in gw.lmdb("events")], 5, what="an event")
    e = ev[0]
    check(e["request_id"] == "evt-1" and e["chain"] == "sim-chat", e)
    check(e["from"] == "sim-a/sim-a-model" and e["to"] == "sim-b/sim-b-model", e)
    check(e["reason"] == "connect_failed" and e["added_ms"] >= 0 and e["ts_ms"] > 0, e)
    for _ in range(130):
        gw.post(chat_body())
    # The history holds 100 already while the last events are still on their
    # way: wait for the oldest to go, then it must hold exactly 100.
    wait_for(lambda: all(json.loads(v)["request_id"] != "evt-1" for v in gw.lmdb("events")), 5,
             what="the oldest event trimmed")
    events = gw.lmdb("events")
    check(len(events) == 100, f"history holds {len(events)} events, not 100")
    ts = [json.loads(v)["ts_ms"] for v in events]
    check(ts == sorted(ts), "events out of order")


def test_tls_failure_fails_over(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    # TLS spoken to a plain-HTTP port: the handshake fails.
    cfg["providers"]["sim-a"]["base_url"] = f"https://127.0.0.1:{a.port}/v1"
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=tls", r.headers)


def test_idle_stream_timeout_continues(env):
    a = env.sim("sim-a", fault="chunk_delay_ms=3000")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["timeouts"]["idle_stream_ms"] = 300
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    events = sse_events(r.body)
    check(r.status == 200 and events[-1] == "[DONE]", events[-2:])
    check("error" not in r.body.decode(), "the idle stream was not continued")
    ev = wait_for(lambda: [json.loads(v) for v in gw.lmdb("events")], 5, what="event")
    check(ev[0]["reason"] == "idle_stream_timeout", ev)


def test_not_found_and_quota_are_hard(env):
    for fault, reason in (("status=404", "not_found"), ("status=429;code=insufficient_quota", "quota_exhausted")):
        sub = env.__class__()
        try:
            a = sub.sim("sim-a", fault=fault)
            b = sub.sim("sim-b")
            cfg = sub.config([a, b])
            cfg["probes"] = {"enabled": False}
            gw = sub.gateway(cfg)
            r = gw.post(chat_body())
            check(r.status == 200 and r.header("x-backstop-failover") == f"sim-a/sim-a-model={reason}",
                  (fault, r.headers))
            check(a.stats()["requests"] == 1, f"{fault}: retried instead of failing over")
            # One hard failure opened the breaker.
            wait_for(lambda: gw.post(chat_body()).header("x-backstop-attempts") == "1", 2, interval=0.01,
                     what=f"breaker open after {reason}")
            check(a.stats()["requests"] == 1, a.stats()["requests"])
        finally:
            problems = sub.close()
            check(not problems, problems)


def test_connect_timeout_fails_over(env):
    b = env.sim("sim-b")
    with silent_port() as port:
        cfg = env.config([b])
        cfg["providers"]["slow"] = {"type": "openai-compatible", "base_url": f"http://127.0.0.1:{port}/v1"}
        cfg["models"] = {"sim-chat": {"targets": [{"provider": "slow", "model": "s"},
                                                  {"provider": "sim-b", "model": "b"}]}}
        cfg["timeouts"]["connect_ms"] = 300
        cfg["probes"] = {"enabled": False}
        gw = env.gateway(cfg)
        r = gw.post(chat_body())
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
        check(r.header("x-backstop-failover") == "slow/s=connect_timeout", r.headers)
