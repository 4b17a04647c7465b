"""Circuit breakers shared by all workers: open, half-open with exactly one
trial across workers, closed again; hard failures; all targets open."""
import json
import re
import threading
import time

from harness import check, chat_body, wait_for


def breaker_config(env, sims, **breaker):
    cfg = env.config(sims)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    b = {"cooldown_ms": 600, "trial_timeout_ms": 300}
    b.update(breaker)
    cfg["breaker"] = b
    cfg["probes"] = {"enabled": False}
    return cfg


def chat_count(sim):
    return sim.stats()["requests"]


def test_opens_after_consecutive_failures(env):
    a = env.sim("sim-a", fault="status=500")
    b = env.sim("sim-b")
    gw = env.gateway(breaker_config(env, [a, b], cooldown_ms=60000))
    for _ in range(3):
        r = gw.post(chat_body())
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", r.headers)
    check(chat_count(a) == 3, chat_count(a))
    # Within milliseconds every worker skips sim-a without touching it.
    r = wait_for(lambda: (lambda r: r.header("x-backstop-attempts") == "1" and r)(gw.post(chat_body())),
                 2, interval=0.01, what="breaker open in the workers")
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=breaker_open", r.headers)
    for _ in range(10):
        r = gw.post(chat_body())
        check(r.header("x-backstop-attempts") == "1" and r.header("x-backstop-provider") == "sim-b", r.headers)
    check(chat_count(a) == 3, f"sim-a got {chat_count(a)} requests behind an open breaker")
    wait_for(lambda: "breaker sim-a/sim-a-model open" in gw.logs(), 2, what="the trip logged")


def test_hard_failure_opens_at_once(env):
    a = env.sim("sim-a", fault="status=401")
    b = env.sim("sim-b")
    gw = env.gateway(breaker_config(env, [a, b], cooldown_ms=60000))
    r = gw.post(chat_body())
    check(r.status == 200 and "auth_failed" in r.header("x-backstop-failover"), r.headers)
    wait_for(lambda: gw.post(chat_body()).header("x-backstop-attempts") == "1", 2, interval=0.01,
             what="open after one 401")
    check(chat_count(a) == 1, chat_count(a))


def hammer(gw, stop, results):
    while not stop.is_set():
        try:
            r = gw.post(chat_body(), timeout=10)
            results.append((r.status, r.header("x-backstop-provider")))
        except OSError as e:
            results.append((0, str(e)))


def test_half_open_single_trial_then_closed(env):
    a = env.sim("sim-a", fault="status=500")
    b = env.sim("sim-b")
    gw = env.gateway(breaker_config(env, [a, b]))
    for _ in range(3):
        gw.post(chat_body())
    wait_for(lambda: gw.post(chat_body()).header("x-backstop-attempts") == "1", 2, interval=0.01,
             what="open")
    opened_at = chat_count(a)
    # Four clients keep both workers busy across two cool-downs.
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=hammer, args=(gw, stop, results)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # 600 ms cool-down, one failed trial, then a 1200 ms cool-down
    trials_failed = chat_count(a) - opened_at
    a.clear()
    # Cool-down doubled after the failed trial; the next trial succeeds and closes.
    wait_for(lambda: any(p == "sim-a" for _, p in results[-20:]), 6, what="closed again")
    stop.set()
    for t in threads:
        t.join(15)
    check(trials_failed == 1, f"{trials_failed} requests reached sim-a in one half-open period")
    check(all(s == 200 for s, _ in results), [x for x in results if x[0] != 200][:3])
    logs = gw.logs()
    check("half-open: trial granted" in logs and "closed: trial succeeded" in logs, "transitions not logged")
    check("open for 1200 ms" in logs, "cool-down did not grow after the failed trial")
    # Closed: everything goes to sim-a again.
    for _ in range(5):
        check(gw.post(chat_body()).header("x-backstop-provider") == "sim-a", "not closed")


def test_all_targets_open(env):
    a = env.sim("sim-a", fault="status=401")
    b = env.sim("sim-b", fault="status=403")
    gw = env.gateway(breaker_config(env, [a, b], cooldown_ms=30000))
    r = gw.post(chat_body())
    check(r.status == 503, r.status)
    def fast_503():
        t0 = time.monotonic()
        r = gw.post(chat_body())
        body = r.body.decode()
        both = "sim-a/sim-a-model: breaker_open" in body and "sim-b/sim-b-model: breaker_open" in body
        return r.status == 503 and both and (r, time.monotonic() - t0)
    r, took = wait_for(fast_503, 2, interval=0.01, what="both open")
    check(took < 0.5, f"{took:.3f}s for an all-open answer")
    check(int(r.header("retry-after")) >= 20, r.headers)
    # A request may reach the other worker before the controller published;
    # after its own hard failure each worker stops at once.
    na, nb = chat_count(a), chat_count(b)
    for _ in range(10):
        check(gw.post(chat_body()).status == 503, "not all open")
    check(na <= 2 and nb <= 2 and (na, nb) == (chat_count(a), chat_count(b)), (na, nb))


def test_opens_on_error_rate(env):
    # Every other request fails: never 3 in a row, but 50 % of 10.
    a = env.sim("sim-a", fault="status=500;rate=50")
    b = env.sim("sim-b")
    gw = env.gateway(breaker_config(env, [a, b], cooldown_ms=60000, consecutive_failures=100,
                                    error_rate_pct=50, min_requests=10, window_ms=30000))
    for _ in range(10):
        check(gw.post(chat_body()).status == 200, "request failed")
    wait_for(lambda: gw.post(chat_body()).header("x-backstop-attempts") == "1" and
             "breaker_open" in (gw.post(chat_body()).header("x-backstop-failover") or ""),
             3, interval=0.01, what="breaker open on the error rate")
    check(re.search(r"open for 60000 ms: error rate (5\d)% of 1\d attempts", gw.logs()), "cause not logged")


def test_batched_successes_count(env):
    # Workers sum successes over an event-loop pass and send the sums at its
    # end; failures go at once after the sum.  The error rate must still see
    # every success: 20 good answers then 8 failures is 29 %, closed; only a
    # long run of failures crosses 50 % of all of them.
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(breaker_config(env, [a, b], cooldown_ms=60000, consecutive_failures=100,
                                    error_rate_pct=50, min_requests=10, window_ms=60000))
    for _ in range(20):
        r = gw.post(chat_body())
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", r.headers)

    def health():
        rows = [json.loads(v.encode().decode("unicode_escape")) for v in gw.lmdb("health")]
        return [h for h in rows if h.get("provider") == "sim-a"]
    h = wait_for(lambda: [x for x in health() if x.get("ok") == 20], 5, what="20 successes in health")
    check(h[0]["attempts"] == 20 and h[0]["latency_ewma_ms"] >= 0, h)
    a.fault("status=500;count=8")
    for _ in range(8):
        r = gw.post(chat_body())
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", r.headers)
    r = gw.post(chat_body())
    check(r.header("x-backstop-provider") == "sim-a" and r.header("x-backstop-failover") is None,
          f"breaker opened on 8 failures out of 29: {r.headers}")
    a.fault("status=500")
    wait_for(lambda: "breaker_open" in (gw.post(chat_body()).header("x-backstop-failover") or ""),
             10, interval=0.01, what="breaker open on the error rate")
    m = re.search(r"error rate (\d+)% of (\d+) attempts", gw.logs())
    check(m and int(m.group(2)) >= 40 and int(m.group(1)) >= 50, f"trip cause: {m and m.group(0)}")
