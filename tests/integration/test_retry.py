"""Retries of the same target: back-off, Retry-After, the deadline, and the
per-chain failure actions."""
import time

from harness import check, chat_body


def test_429_retry_after_honoured_same_target(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    a.fault("status=429;retry_after=1;count=1")
    t0 = time.monotonic()
    r = gw.post(chat_body())
    took = time.monotonic() - t0
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    check(r.header("x-backstop-attempts") == "2" and r.header("x-backstop-failover") is None, r.headers)
    check(took >= 0.9, f"did not wait for Retry-After: {took:.3f}s")
    check(b.stats()["requests"] == 0, "failed over instead of retrying")


def test_retry_after_ms_header(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    a.fault("status=503;retry_after_ms=300;count=1")
    t0 = time.monotonic()
    r = gw.post(chat_body())
    took = time.monotonic() - t0
    check(r.status == 200 and r.header("x-backstop-attempts") == "2", (r.status, r.headers))
    check(0.25 <= took < 5, f"{took:.3f}s")


def test_retry_after_over_cap_fails_over_at_once(env):
    a = env.sim("sim-a", fault="status=429;retry_after=60")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    t0 = time.monotonic()
    r = gw.post(chat_body())
    took = time.monotonic() - t0
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=rate_limited", r.headers)
    check(took < 5, f"slept on a Retry-After over the cap: {took:.3f}s")
    check(a.stats()["requests"] == 1, a.stats()["requests"])


def test_retry_after_longer_than_deadline(env):
    a = env.sim("sim-a", fault="status=503;retry_after=3")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    t0 = time.monotonic()
    r = gw.post(chat_body(), headers={"x-backstop-timeout-ms": "2000"})
    took = time.monotonic() - t0
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.body))
    check(took < 1.5, f"waited although the wait could not fit the deadline: {took:.3f}s")


def test_5xx_retried_with_backoff_then_failover(env):
    a = env.sim("sim-a", fault="status=500")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["models"]["sim-chat"]["retry"] = {"max_retries": 3, "base_ms": 20, "max_ms": 100}
    cfg["breaker"] = {"consecutive_failures": 10}  # retries alone, not the breaker
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(a.stats()["requests"] == 4, f"sim-a saw {a.stats()['requests']} requests, want 1 + 3 retries")
    check(r.header("x-backstop-attempts") == "5", r.headers)


def test_connect_failure_is_not_retried(env):
    a = env.sim("sim-a", fault="reset")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-attempts") == "2", (r.status, r.headers))
    check(a.stats()["requests"] == 1, a.stats())


def test_actions_configurable_per_chain(env):
    a = env.sim("sim-a", fault="status=500")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    cfg["models"]["strict"] = {"targets": [{"provider": "sim-a", "model": "x"},
                                           {"provider": "sim-b", "model": "y"}],
                               "on": {"server_error": "return"}}
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and a.stats()["requests"] == 1, (r.status, a.stats()["requests"]))
    r = gw.post(chat_body(model="strict"))
    check(r.status == 500 and b.stats()["requests"] == 1, (r.status, b.stats()["requests"]))


def test_context_length_returned_when_no_larger_target(env):
    a = env.sim("sim-a", fault="status=400;code=context_length_exceeded")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body())
    check(r.status == 400 and r.json()["error"]["code"] == "context_length_exceeded", (r.status, r.body))
