"""OpenAI clients served by Azure OpenAI targets (dated deployments URL and
the v1 form) through the adapter: filter reports tidied away, content
filter and quota errors classed, failover to and from other formats."""
from adapters import (NO_BREAKER, check_fails_over_as, chunks, finish_reasons, first_tool_call, second_tool_turn,
                      stream_text, streamed_tool_loop)
from harness import chat_body, check, sse_events
from provider_types import AZURE_KEY, typed_config

def test_azure_plain_dated_and_v1(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    for i, typ in enumerate(["azure", "azure-v1"]):
        sim = [a, b][i]
        gw = env.gateway(typed_config(env, [(sim, typ)]), name=f"gw{i}")
        r = gw.post(chat_body(temperature=0.2))
        check(r.status == 200, (typ, r.status, r.body))
        j = r.json()
        check(j["choices"][0]["message"]["content"] == f"Hello from {sim.name}. You said: hello there", j)
        # Azure's filter reports do not reach the client.
        check("prompt_filter_results" not in j and "content_filter_results" not in j["choices"][0], j)
        st = sim.stats()
        check(st["last_headers"]["authorization"] == AZURE_KEY, st["last_headers"])
        check(st["last_request"]["model"] == f"{sim.name}-model", st["last_request"])
        check(st["models"] == {f"{sim.name}-model": 1}, st)


def test_azure_stream(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "azure")]))
    r = gw.post(chat_body(stream=True, stream_options={"include_usage": True}))
    check(r.status == 200, (r.status, r.body))
    chs = chunks(r.body)
    # The filter-only first chunk (choices [], id "") is gone; every chunk
    # has a choice to read or is the usage chunk.
    check(all(c["id"] and (c["choices"] or c.get("usage")) for c in chs), chs)
    check(all("content_filter_results" not in ch for c in chs for ch in c["choices"]), chs)
    check("prompt_filter_results" not in r.body.decode(), r.body)
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)
    check(finish_reasons(chs) == ["stop"] and chs[-1]["usage"]["completion_tokens"] == 7, chs)


def test_azure_tool_round_trip(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "azure")]))
    call = first_tool_call(gw)
    second_tool_turn(gw, call)
    streamed_tool_loop(gw)


def test_azure_content_filter(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(typed_config(env, [(a, "azure"), (b, "openai")]))
    # A filtered prompt is the request's own fault: back to the client as is.
    a.fault("status=400;code=content_filter;count=1")
    r = gw.post(chat_body())
    check(r.status == 400, (r.status, r.body))
    e = r.json()["error"]
    check(e["code"] == "content_filter" and e["param"] == "prompt" and e["type"] == "invalid_request_error", e)
    check(b.stats()["requests"] == 0, b.stats())
    # The output filter ends the answer with content_filter.
    a.fault("content_filter;count=1")
    r = gw.post(chat_body())
    check(r.json()["choices"][0]["finish_reason"] == "content_filter", r.body)
    a.fault("content_filter;count=1")
    r = gw.post(chat_body(stream=True))
    chs = chunks(r.body)
    check(finish_reasons(chs) == ["content_filter"] and stream_text(chs) == "Hello ", chs)
    check(all(c["choices"] for c in chs), chs)


def test_azure_error_mapping(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = typed_config(env, [(a, "azure"), (b, "gemini")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "rate_limited": "failover"}
    check_fails_over_as(env, cfg, a, [("status=429;retry_after=86400", "quota_exhausted"),
                                      ("status=429;retry_after=2", "rate_limited"),
                                      ("status=404", "not_found"), ("status=401", "auth_failed"),
                                      ("status=500", "server_error"),
                                      ("status=400;code=context_length_exceeded", "context_length")])


def test_azure_missing_key_fails_over(env):
    """A provider whose key is wrong for Azure (the sim wants api-key) is
    an auth failure, not a crash or a hang."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = typed_config(env, [(a, "azure"), (b, "openai")])
    del cfg["providers"]["sim-a"]["api_key_env"]
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-failover") == "sim-a/sim-a-model=auth_failed", (r.status, r.headers))
    ev = sse_events(gw.post(chat_body(stream=True)).body)
    check(ev[-1] == "[DONE]", ev)
