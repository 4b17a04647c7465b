"""The issue-12 run: sparse traffic (one request every 1.2 s, 2 workers)
against a target whose chat requests fail with 503 for a few seconds and
then recover, while its GET /models keeps answering 200.

Before: the controller granted the half-open trial to one worker slot, the
request landed on the other worker and skipped the target, and the grant
moved on; with sparse traffic the recovered target could stay unused. And
every successful GET /models probe moved the breaker to half-open early, the
trial failed, and the cool-down doubled several times within seconds.

Now: the first request that reaches the half-open target is its trial,
whichever worker has it; a GET /models probe cannot end an open state that
503s of the chat route caused; the cool-down doubles at most once per
cool-down period."""
import re
import time

from harness import check, chat_body, wait_for

COOLDOWN_MS = 2000
GAP_S = 1.2


def test_sparse_traffic_recovers_promptly_without_escalation(env):
    a = env.sim("sim-a", fault="status=503")
    b = env.sim("sim-b")
    cfg = env.config([a, b], workers=2,
                     breaker={"cooldown_ms": COOLDOWN_MS, "cooldown_max_ms": 120000,
                              "consecutive_failures": 2, "trial_timeout_ms": 1000},
                     probes={"interval_ms": 200, "open_interval_ms": 100, "rise": 1, "fall": 2,
                             "timeout_ms": 500})
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)

    def one():
        r = gw.post(chat_body())
        check(r.status == 200, (r.status, r.headers, r.body))
        return r

    # The outage: a few seconds of 503s, sparse requests; every one is
    # answered (by sim-b).
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4.0:
        r = one()
        check(r.header("x-backstop-provider") == "sim-b", r.headers)
        time.sleep(GAP_S)
    check("breaker sim-a/sim-a-model open" in gw.logs(), "the breaker never opened")
    a.clear()
    recovered_at = time.monotonic()
    half_open_seen = gw.logs().count("breaker sim-a/sim-a-model half-open")

    # Recovery: once the breaker is half-open again, the very next request
    # must be its trial and be served by sim-a, whichever worker takes it.
    served_a = None
    while time.monotonic() - recovered_at < 12.0:
        half_open_now = gw.logs().count("breaker sim-a/sim-a-model half-open")
        r = one()
        if r.header("x-backstop-provider") == "sim-a":
            served_a = time.monotonic() - recovered_at
            check(r.header("x-backstop-attempts") == "1" and r.header("x-backstop-failover") is None,
                  r.headers)
            break
        check(half_open_now == half_open_seen,
              f"a request skipped the half-open sim-a: {r.headers}")
        time.sleep(GAP_S)
    check(served_a is not None, "the recovered sim-a was never used again")
    # At most one failed trial after the outage ended (2 s, then 4 s), plus
    # the sparse gap: far from the 30/60/120 s of the escalation.
    check(served_a < 2 * COOLDOWN_MS / 1000 + 2 * GAP_S + 1.0, f"recovered only after {served_a:.1f}s")

    # Closed: it serves the following requests too, on both workers, once the
    # controller has published the trial's outcome (the worker that ran the
    # trial admits the target at once; another one learns it from the
    # record, within milliseconds).
    wait_for(lambda: "closed: trial succeeded" in gw.logs(), 5, what="the breaker closing")
    time.sleep(0.05)
    for _ in range(4):
        r = gw.post(chat_body())
        check(r.header("x-backstop-provider") == "sim-a" and r.header("x-backstop-attempts") == "1",
              r.headers)

    logs = gw.logs()
    opens = [int(ms) for ms in re.findall(r"breaker sim-a/sim-a-model open for (\d+) ms", logs)]
    check(opens, "no open logged")
    check(max(opens) <= 2 * COOLDOWN_MS, f"cool-down escalated: {opens}")
    doubled = [ms for ms in opens if ms > COOLDOWN_MS]
    check(len(doubled) <= 1, f"doubled more than once: {opens}")
    check("half-open early" not in logs, "a GET /models probe ended an open state caused by 503s")
    check("closed: trial succeeded" in logs, "not closed by its trial")
    # The probes kept answering: they were not what made it recover.
    check(re.search(r"probe: sim-a/sim-a-model up", logs), "sim-a never probed up")


def test_chat_probe_ends_a_503_outage_early(env):
    # Opt-in: with chat_probe the prober sends one-token chat requests while
    # the breaker is open for 503s, and their success makes it half-open
    # long before its 60 s cool-down.
    a = env.sim("sim-a", fault="status=503")
    b = env.sim("sim-b")
    cfg = env.config([a, b], workers=2,
                     breaker={"cooldown_ms": 60000, "cooldown_max_ms": 120000,
                              "consecutive_failures": 2},
                     probes={"interval_ms": 200, "open_interval_ms": 100, "rise": 1, "fall": 2,
                             "timeout_ms": 500})
    cfg["providers"]["sim-a"]["chat_probe"] = True
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    for _ in range(3):
        r = gw.post(chat_body())
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", r.headers)
        time.sleep(0.3)
    check("breaker sim-a/sim-a-model open for 60000 ms" in gw.logs(), "not open")
    before = a.stats()["requests"]
    time.sleep(1.0)
    probes = a.stats()["requests"] - before
    check(probes >= 3, f"only {probes} chat probes in 1 s while open")
    check("half-open" not in gw.logs(), "half-open while the chat route still fails")
    a.clear()
    t0 = time.monotonic()
    served = None
    while time.monotonic() - t0 < 5.0:
        r = gw.post(chat_body())
        if r.header("x-backstop-provider") == "sim-a":
            served = time.monotonic() - t0
            break
        time.sleep(0.2)
    check(served is not None and served < 3.0, f"sim-a not used again within 5 s ({served})")
    check("chat probe succeeded, half-open early" in gw.logs(), "not ended by the chat probe")
