"""Anthropic models on Vertex AI (rawPredict / streamRawPredict with a
bearer token, the model in the URL, anthropic_version in the body) through
the gateway, and failover between Vertex's two publishers."""
import json

from adapters import chunks, finish_reasons, stream_text, stream_tool_calls, tool_result_body, tool_turn_body
from harness import chat_body, check
from provider_types import VERTEX_TOKEN, typed_config


def test_vertex_anthropic_plain_and_stream(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "vertex-anthropic")]))
    r = gw.post(chat_body(max_tokens=50))
    check(r.status == 200, (r.status, r.body))
    check(r.json()["choices"][0]["message"]["content"] == "Hello from sim-a. You said: hello there", r.body)
    st = a.stats()
    # The sim refuses a body with a model or without anthropic_version, so
    # getting here means the adapter moved both; it saw the URL's model.
    check(st["last_request"]["model"] == "sim-a-model" and st["last_request"]["max_tokens"] == 50, st)
    check(st["last_headers"]["authorization"] == "Bearer " + VERTEX_TOKEN, st["last_headers"])
    chs = chunks(gw.post(chat_body(stream=True, stream_options={"include_usage": True})).body)
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)
    check(finish_reasons(chs) == ["stop"] and chs[-1]["usage"]["completion_tokens"] == 7, chs)


def test_vertex_anthropic_tool_round_trip(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "vertex-anthropic")]))
    chs = chunks(gw.post(tool_turn_body(stream=True)).body)
    calls = stream_tool_calls(chs)
    check(calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "x"}, calls)
    r = gw.post(tool_result_body(calls[0]))
    check(r.json()["choices"][0]["message"]["content"] == "Done from sim-a: 4 C, rain", r.body)


def test_vertex_failover_between_publishers(env):
    """Claude on Vertex overloaded (529): the Gemini target on Vertex
    serves, and the client sees an ordinary answer."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = typed_config(env, [(a, "vertex-anthropic"), (b, "vertex-gemini")])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    a.fault("status=529;count=1")
    r = gw.post(tool_turn_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers, r.body))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=server_error", r.headers)
    check(r.json()["choices"][0]["finish_reason"] == "tool_calls", r.body)
