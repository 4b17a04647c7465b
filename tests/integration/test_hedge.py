"""Hedged requests: a second target raced when the first is slow."""
import time

from harness import check, chat_body, wait_for


def hedge_cfg(env, sims, after_ms=100, budget=100, **extra):
    cfg = env.config(sims, **extra)
    cfg["models"]["sim-chat"]["hedge"] = {"after_ms": after_ms, "budget_pct": budget}
    cfg["probes"] = {"enabled": False}
    return cfg


def test_hedge_wins_when_first_is_slow(env):
    a = env.sim("sim-a", fault="latency_ms=1500")
    b = env.sim("sim-b")
    gw = env.gateway(hedge_cfg(env, [a, b]))
    for stream in (False, True):
        t0 = time.monotonic()
        r = gw.post(chat_body(stream=stream))
        took = time.monotonic() - t0
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
        check(r.header("x-backstop-failover") == "sim-a/sim-a-model=hedged", r.headers)
        check(r.header("x-backstop-attempts") == "2", r.headers)
        check(took < 1.0, f"hedged answer took {took:.3f}s")
    # The slow first attempts were cancelled, not left running.
    wait_for(lambda: a.stats()["cancelled"] == 2, 5, what="losers cancelled")


def test_first_target_wins_the_race(env):
    a = env.sim("sim-a", fault="latency_ms=300")
    b = env.sim("sim-b", fault="latency_ms=2000")
    gw = env.gateway(hedge_cfg(env, [a, b], after_ms=50))
    r = gw.post(chat_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", r.headers)
    check(r.header("x-backstop-failover") is None, r.headers)
    wait_for(lambda: b.stats()["requests"] == 1 and b.stats()["cancelled"] == 1, 5,
             what="the hedge started and was cancelled")


def test_hedge_budget(env):
    a = env.sim("sim-a", fault="latency_ms=400")
    b = env.sim("sim-b")
    gw = env.gateway(hedge_cfg(env, [a, b], after_ms=50, budget=50, workers=1))
    got = [gw.post(chat_body()).header("x-backstop-provider") for _ in range(4)]
    check(got.count("sim-b") == 2, f"{got}: a 50% budget allows 2 hedges in 4 requests")


def test_hedge_off_by_default(env):
    a = env.sim("sim-a", fault="latency_ms=300")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.header("x-backstop-provider") == "sim-a" and b.stats()["requests"] == 0, r.headers)


def test_racer_failure_leaves_the_other(env):
    a = env.sim("sim-a", fault="latency_ms=300")
    b = env.sim("sim-b", fault="status=500")
    cfg = hedge_cfg(env, [a, b], after_ms=50)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    check(b.stats()["requests"] == 1, b.stats()["requests"])
