"""Upstream connections kept alive between requests, and what happens when
the provider closes them while they sit idle in the worker's pool."""
import concurrent.futures

from harness import check, chat_body


def burst(gw, n, parallel):
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        return list(ex.map(lambda _: gw.post(chat_body()), range(n)))


def test_idle_connections_closed_by_the_provider(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a], workers=1))
    # Several connections end up idle in the pool, their read watch kept.
    for r in burst(gw, 24, 8):
        check(r.status == 200, f"before: {r.status} {r.body!r}")
    port = a.port
    a.proc.stop()
    # A new provider process on the same address: every pooled connection
    # was closed under the worker, which must notice and open new ones.
    b = env.sim("sim-a-again", port=port)
    for r in burst(gw, 24, 8):
        check(r.status == 200, f"after restart: {r.status} {r.body!r}")
        check(r.header("x-backstop-attempts") == "1", f"a dead pooled connection cost a retry: {r.headers}")
    check(b.stats()["requests"] == 24, b.stats())
    # And sequential keep-alive reuse still works after the churn.
    for _ in range(5):
        r = gw.post(chat_body())
        check(r.status == 200, r.body)
