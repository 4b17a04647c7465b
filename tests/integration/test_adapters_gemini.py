"""OpenAI clients served by Gemini targets (Google AI Studio and Gemini on
Vertex AI) through the adapter, error mapping, and failover between Gemini
and the other formats in an agent's tool loop, through the real gateway
and simprov."""
import json

from adapters import (NO_BREAKER, check_fails_over_as, check_like_reference, check_usage_stream, chunks, finish_reasons,
                      first_tool_call, second_tool_turn, stream_text, stream_tool_calls, streamed_tool_loop,
                      tool_loop_failover, tool_turn_body)
from harness import chat_body, check
from provider_types import GOOGLE_KEY, VERTEX_TOKEN, typed_config

def test_gemini_plain(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "gemini")]))
    r = gw.post(chat_body(temperature=0.2, max_tokens=100, stop=["zzz"],
                          messages=[{"role": "system", "content": "Be terse."},
                                    {"role": "user", "content": "hello there"}]))
    check(r.status == 200, (r.status, r.body))
    j = r.json()
    check(j["object"] == "chat.completion" and j["model"] == "sim-a-model", j)
    check(j["choices"][0]["message"]["content"] == "Hello from sim-a. You said: hello there", j)
    check(j["choices"][0]["finish_reason"] == "stop", j)
    check(j["usage"]["completion_tokens"] == 7 and j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + 7,
          j["usage"])
    check(r.header("x-backstop-provider") == "sim-a", r.headers)
    st = a.stats()
    check(st["last_headers"]["authorization"] == GOOGLE_KEY, st["last_headers"])
    sent = st["last_request"]
    check(sent["systemInstruction"] == {"parts": [{"text": "Be terse."}]}, sent)
    check(sent["contents"] == [{"role": "user", "parts": [{"text": "hello there"}]}], sent)
    check(sent["generationConfig"] == {"maxOutputTokens": 100, "stopSequences": ["zzz"], "temperature": 0.2}, sent)
    log = gw.access()[-1]
    check(log["completion_tokens"] == 7, log)


def test_gemini_stream(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "gemini")]))
    chs = check_usage_stream(gw)
    check(all(c["model"] == "sim-a-model" for c in chs), chs)
    check(chs[0]["choices"][0]["delta"].get("role") == "assistant", chs[0])
    chs = chunks(gw.post(chat_body(stream=True)).body)
    check(all(c["choices"] for c in chs) and "usage" not in chs[-1], chs[-1])
    # Many pieces, one byte apart in time: the same text.
    a.fault("chunks=40;count=1")
    chs = chunks(gw.post(chat_body(stream=True)).body)
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)


def test_gemini_tool_round_trip(env):
    a = env.sim("sim-a")
    gw = env.gateway(typed_config(env, [(a, "gemini")]))
    call = first_tool_call(gw)
    sent = a.stats()["last_request"]
    decl = sent["tools"][0]["functionDeclarations"][0]
    check(decl["parameters"] == {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                                 "required": ["city"]}, decl)
    check(sent["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}, sent)
    second_tool_turn(gw, call)
    contents = a.stats()["last_request"]["contents"]
    check(contents[1] == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "x"}}}]},
          contents)
    check(contents[2] == {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                         "response": {"result": "4 C, rain"}}}]},
          contents)
    # Streamed: the call arrives whole, as one delta with index 0.
    streamed_tool_loop(gw)
    # A named tool_choice forces that function.
    body = tool_turn_body()
    body["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
    check(gw.post(body).status == 200, "named tool_choice")
    check(a.stats()["last_request"]["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["get_weather"]}}, a.stats()["last_request"])


def test_gemini_error_mapping(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = typed_config(env, [(a, "gemini"), (b, "openai")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "rate_limited": "failover"}
    cases = [("status=503", "server_error"), ("status=429", "rate_limited"),
             ("status=400;code=API_KEY_INVALID", "auth_failed"), ("status=403", "auth_failed"),
             ("status=404", "not_found"), ("status=429;code=insufficient_quota", "quota_exhausted"),
             ("status=400;code=context_length_exceeded", "context_length"),
             ("stream_error_after=0", "server_error")]
    check_fails_over_as(env, cfg, a, cases)
    # The request's own fault goes back to the client, in OpenAI's shape.
    gw = env.gateway(cfg, name="client")
    a.fault("status=400;message=Invalid JSON payload;count=1")
    r = gw.post(chat_body())
    check(r.status == 400, (r.status, r.body))
    e = r.json()["error"]
    check(e["message"] == "Invalid JSON payload" and e["type"] == "invalid_request_error", e)
    # With "return", the client gets Google's error as OpenAI says it.
    cfg["models"]["sim-chat"]["on"] = {"server_error": "return", "rate_limited": "return",
                                       "auth_failed": "return", "quota_exhausted": "return"}
    for i, (fault, status, code) in enumerate([("status=503", 503, "overloaded"),
                                               ("status=429", 429, "rate_limit_exceeded"),
                                               ("status=400;code=API_KEY_INVALID", 401, "invalid_api_key"),
                                               ("status=429;code=insufficient_quota", 429, "insufficient_quota")]):
        gw = env.gateway(cfg, name=f"ret{i}")
        a.fault(fault + ";count=1")
        r = gw.post(chat_body())
        check(r.status == status, (fault, r.status, r.body))
        check(r.json()["error"]["code"] == code, (fault, r.body))


def test_gemini_content_filter_and_cut(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(typed_config(env, [(a, "gemini"), (b, "openai")]))
    a.fault("content_filter;count=1")
    r = gw.post(chat_body())
    check(r.status == 200 and r.json()["choices"][0]["finish_reason"] == "content_filter", r.body)
    a.fault("content_filter;count=1")
    chs = chunks(gw.post(chat_body(stream=True)).body)
    check(finish_reasons(chs) == ["content_filter"] and stream_text(chs) == "Hello ", chs)
    # A stream cut before its finishReason is a cut, not an answer: after
    # content reached the client it continues on the next target.
    a.fault("close_after=2;count=1")
    r = gw.post(chat_body(stream=True))
    check(r.status == 200, r.status)
    chs = chunks(r.body)
    check(stream_text(chs) == "Hello from Hello from sim-b. You said: hello there", chs)
    check(b.stats()["last_request"]["messages"][-1] == {"role": "assistant", "content": "Hello from "},
          b.stats()["last_request"])


def _loop(env, first, second, stream):
    """An agent's tool loop: turn 1 on the first target, turn 2 fails over
    to the second (another format); compared with turn 2 served by the
    second alone."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = typed_config(env, [(a, first), (b, second)])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    call, ans2 = tool_loop_failover(gw, a, "status=503", stream)
    check_like_reference(env, a, typed_config(env, [(b, second)]), call, ans2, stream)
    return b.stats()["last_request"]


def test_tool_loop_failover_gemini_to_anthropic(env):
    sent = _loop(env, "gemini", "anthropic", stream=False)
    blocks = [x for m in sent["messages"] if isinstance(m["content"], list) for x in m["content"]]
    check(any(x["type"] == "tool_use" and x["input"] == {"city": "x"} for x in blocks), sent)


def test_tool_loop_failover_openai_to_gemini_stream(env):
    sent = _loop(env, "openai", "gemini", stream=True)
    check(sent["contents"][1]["parts"][0]["functionCall"]["args"] == {"city": "x"}, sent)


def test_tool_loop_failover_gemini_to_azure_stream(env):
    sent = _loop(env, "gemini", "azure", stream=True)
    check(json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"city": "x"}, sent)


def test_vertex_gemini(env):
    """Gemini on Vertex: the project/location URL and a bearer token."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(typed_config(env, [(a, "vertex-gemini"), (b, "gemini")]))
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.body))
    check(r.json()["choices"][0]["message"]["content"] == "Hello from sim-a. You said: hello there", r.body)
    check(a.stats()["last_headers"]["authorization"] == "Bearer " + VERTEX_TOKEN, a.stats()["last_headers"])
    chs = chunks(gw.post(tool_turn_body(stream=True)).body)
    check(stream_tool_calls(chs)[0]["name"] == "get_weather", chs)
    a.fault("status=401;count=1")
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=auth_failed", r.headers)


def test_gemini_and_azure_targets_are_probed(env):
    """The controller probes a Gemini target with GET .../models/{model}
    (x-goog-api-key) and an Azure one with its model list (api-key), and
    marks them up; a probe answered 403 marks the Gemini target down."""
    from test_probes import FAST_PROBES, state_is
    from harness import wait_for
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    c = env.sim("sim-c")
    cfg = typed_config(env, [(a, "gemini"), (b, "azure"), (c, "azure-v1")], probes=dict(FAST_PROBES, enabled=True))
    gw = env.gateway(cfg)
    for s in ("sim-a", "sim-b", "sim-c"):
        wait_for(lambda: state_is(gw, f"{s}/{s}-model", "up"), 10, what=f"{s} up")
    del cfg["providers"]["sim-a"]["api_key_env"]
    gw2 = env.gateway(cfg, name="nokey")
    wait_for(lambda: state_is(gw2, "sim-a/sim-a-model", "down"), 10, what="keyless gemini target down")
