"""Pass-through of chat completions, streaming and not, and the small endpoints."""
import json
import re

from harness import check, chat_body, request, sse_events, wait_for


def normalise(body):
    # The simulator numbers its answers and stamps the time: the only bytes
    # two otherwise identical answers may differ in.
    return re.sub(rb'"(id|created)":("[^"]*"|\d+)', b'"\\1":X', body)


def test_non_stream_byte_exact(env):
    a = env.sim("sim-a", model_version="sim-a-v1")
    gw = env.gateway(env.config([a]))
    direct = request(a.port, "POST", "/v1/chat/completions", chat_body(model="sim-a-model"))
    r = gw.post(chat_body())
    check(r.status == 200, f"status {r.status}: {r.body!r}")
    check(normalise(r.body) == normalise(direct.body), f"bodies differ:\n{r.body!r}\n{direct.body!r}")
    check(r.header("x-backstop-provider") == "sim-a", r.headers)
    check(r.header("x-backstop-model") == "sim-a-model", r.headers)
    check(r.header("x-backstop-attempts") == "1", r.headers)
    check(r.header("x-backstop-failover") is None, r.headers)
    check(r.header("x-request-id", ), "no request id")
    last = a.stats()["last_request"]
    check(last["model"] == "sim-a-model", f"upstream got model {last.get('model')}")
    check(last["messages"] == chat_body()["messages"], "messages changed on the way")


def test_stream_byte_exact(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    body = chat_body(stream=True, stream_options={"include_usage": True}, text="one two three four")
    direct = request(a.port, "POST", "/v1/chat/completions", dict(body, model="sim-a-model"))
    r = gw.post(body)
    check(r.status == 200, f"status {r.status}: {r.body!r}")
    check(r.header("content-type").startswith("text/event-stream"), r.headers)
    check(normalise(r.body) == normalise(direct.body), f"streams differ:\n{r.body!r}\n{direct.body!r}")
    events = sse_events(r.body)
    check(events[-1] == "[DONE]", events[-3:])
    usage = [json.loads(e)["usage"] for e in events[:-1] if json.loads(e).get("usage")]
    check(usage and usage[-1]["completion_tokens"] > 0, "no usage chunk")
    log = wait_for(lambda: gw.access(), 5, what="access log")
    check(log[-1]["stream"] is True and log[-1]["completion_tokens"] == usage[-1]["completion_tokens"], log[-1])


def test_request_id_propagates(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(), headers={"x-request-id": "abc-123"})
    check(r.status == 200 and r.header("x-request-id") == "abc-123", r.headers)
    check(a.stats()["last_headers"]["x-request-id"] == "abc-123", a.stats()["last_headers"])
    line = wait_for(lambda: [l for l in gw.access() if l["request_id"] == "abc-123"], 5, what="log line")
    check(line[0]["provider"] == "sim-a" and line[0]["status"] == 200, line)
    check("hello" not in json.dumps(line[0]), "prompt text leaked into the access log")


def test_models_and_health(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a], models={
        "m1": {"targets": [{"provider": "sim-a", "model": "x"}]},
        "m2": {"targets": [{"provider": "sim-a", "model": "y"}]}}))
    r = gw.get("/v1/models")
    check(r.status == 200, r.status)
    ids = sorted(m["id"] for m in r.json()["data"])
    check(ids == ["m1", "m2"] and r.json()["object"] == "list", r.body)
    h = gw.get("/healthz")
    check(h.status == 200 and h.json()["status"] == "ok", h.body)
