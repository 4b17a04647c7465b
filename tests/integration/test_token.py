"""Short-lived provider keys (Vertex AI access tokens) from token_command
and token_file: fetched before the workers start, refreshed ahead of their
expiry, published to the workers, and a failing source leaves the target
failing over instead of the gateway."""
import json
import os

from harness import chat_body, check, wait_for
from provider_types import VERTEX_PATH


def _vertex(sim, **src):
    p = {"type": "vertex-gemini", "base_url": f"http://127.0.0.1:{sim.port}{VERTEX_PATH}"}
    p.update(src)
    return p


def _auth(sim):
    return sim.stats()["last_headers"]["authorization"]


def test_token_command_refreshed_before_expiry(env):
    a = env.sim("sim-a")
    tokfile = os.path.join(env.dir, "token.json")
    with open(tokfile, "w") as f:
        json.dump({"access_token": "ya29.first", "expires_in": 2}, f)
    cfg = env.config([a])
    cfg["providers"]["sim-a"] = _vertex(a, token_command=f"cat '{tokfile}'")
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200, (r.status, r.body))
    check(_auth(a) == "Bearer ya29.first", a.stats()["last_headers"])
    # A 2 s token is refreshed at half its life: the new one reaches the
    # workers without a restart or a reload.
    with open(tokfile + ".tmp", "w") as f:
        json.dump({"access_token": "ya29.second", "expires_in": 2}, f)
    os.rename(tokfile + ".tmp", tokfile)

    def second():
        return gw.post(chat_body()).status == 200 and _auth(a) == "Bearer ya29.second"
    wait_for(second, 10, interval=0.2, what="refreshed token in use")
    check("new token published" in gw.logs(), "no log line for the refresh")
    check("ya29.second" not in gw.logs() and "ya29.first" not in gw.logs(), "a token in the log")


def test_token_file_plain(env):
    a = env.sim("sim-a")
    tokfile = os.path.join(env.dir, "token.txt")
    with open(tokfile, "w") as f:
        f.write("ya29.fromfile\n")
    cfg = env.config([a])
    cfg["providers"]["sim-a"] = _vertex(a, token_file=tokfile)
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and _auth(a) == "Bearer ya29.fromfile", (r.status, a.stats()["last_headers"]))


def test_token_source_failing(env):
    """A command that fails (and one that prints nothing) leaves the
    provider without a key: its target fails over, the gateway serves."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    c = env.sim("sim-c")
    cfg = env.config([a, b, c])
    cfg["providers"]["sim-a"] = _vertex(a, token_command="echo broken >&2; exit 3")
    cfg["providers"]["sim-b"] = _vertex(b, token_command="true")
    cfg["models"]["sim-chat"]["on"] = {"auth_failed": "failover"}
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-c", (r.status, r.headers, r.body))
    fo = r.header("x-backstop-failover") or ""
    check("sim-a/sim-a-model=auth_failed" in fo and "sim-b/sim-b-model=auth_failed" in fo, r.headers)
    logs = gw.logs()
    check("token: provider sim-a: token_command failed" in logs, logs[-2000:])
    check("token: provider sim-b: the output is empty" in logs, logs[-2000:])
