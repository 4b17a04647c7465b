"""Chain strategies, groups of equivalent targets and approved fallbacks."""
from harness import check, chat_body


def providers_cfg(env, sims, targets, **chain):
    cfg = env.config(sims)
    cfg["models"] = {"sim-chat": dict(targets=targets, **chain)}
    cfg["breaker"] = {"consecutive_failures": 1000, "min_requests": 100000}
    cfg["probes"] = {"enabled": False}
    return cfg


def served_by(gw, n):
    return [gw.post(chat_body()).header("x-backstop-provider") for _ in range(n)]


def test_group_before_approved_fallback(env):
    a = env.sim("sim-a", fault="reset")
    b = env.sim("sim-b")
    c = env.sim("sim-c")
    gw = env.gateway(providers_cfg(env, [a, b, c], [
        {"provider": "sim-a", "model": "claude", "group": "claude"},
        {"provider": "sim-c", "model": "gpt", "group": "gpt", "approved": True},
        {"provider": "sim-b", "model": "claude", "group": "claude"}]))
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", r.headers)
    b.fault("status=404")
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-c", r.headers)
    check(r.header("x-backstop-model") == "gpt", r.headers)


def test_weighted(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(providers_cfg(env, [a, b], [
        {"provider": "sim-a", "model": "x", "weight": 1},
        {"provider": "sim-b", "model": "x", "weight": 3}], strategy="weighted"))
    got = served_by(gw, 200)
    share = got.count("sim-b") / len(got)
    check(0.6 <= share <= 0.9, f"sim-b served {share:.2f} of requests, weight says 0.75")
    check(got.count("sim-a") > 0, "sim-a never chosen")


def test_least_latency(env):
    a = env.sim("sim-a", fault="latency_ms=60")
    b = env.sim("sim-b")
    gw = env.gateway(providers_cfg(env, [a, b], [
        {"provider": "sim-a", "model": "x"}, {"provider": "sim-b", "model": "x"}],
        strategy="least-latency"))
    got = served_by(gw, 30)
    check(got[-10:] == ["sim-b"] * 10, got)


def test_health_score_avoids_errors(env):
    a = env.sim("sim-a", fault="status=500;rate=50")
    b = env.sim("sim-b")
    cfg = providers_cfg(env, [a, b], [
        {"provider": "sim-a", "model": "x"}, {"provider": "sim-b", "model": "x"}],
        strategy="health-score", on={"server_error": "failover"})
    gw = env.gateway(cfg)
    got = served_by(gw, 40)
    check(got[-10:].count("sim-b") >= 9, got)
    check(all(p in ("sim-a", "sim-b") for p in got), got)


def test_priority_is_default_order(env):
    a = env.sim("sim-a", fault="latency_ms=30")
    b = env.sim("sim-b")
    gw = env.gateway(providers_cfg(env, [a, b], [
        {"provider": "sim-a", "model": "x"}, {"provider": "sim-b", "model": "x"}]))
    check(served_by(gw, 10) == ["sim-a"] * 10, "priority must keep the written order")
