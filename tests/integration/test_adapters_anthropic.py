"""OpenAI clients served by Anthropic targets (through the adapter), and
failover between the two formats, through the real gateway and simprov."""
import json

from adapters import (NO_BREAKER, SIM_KEY, WEATHER_TOOL, check_fails_over_as, check_like_reference, check_usage_stream,
                      chunks, finish_reasons, first_tool_call, mixed_config, second_tool_turn, stream_text,
                      streamed_tool_loop, tool_loop_failover, tool_result_body, tool_turn_body)
from harness import chat_body, check


def test_anthropic_plain(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    r = gw.post(chat_body(temperature=0.2, max_tokens=100, stop=["zzz"]))
    check(r.status == 200, (r.status, r.body))
    j = r.json()
    check(j["object"] == "chat.completion", j)
    msg = j["choices"][0]["message"]
    check(msg["role"] == "assistant" and msg["content"] == "Hello from sim-a. You said: hello there", j)
    check(j["choices"][0]["finish_reason"] == "stop", j)
    check(j["usage"]["prompt_tokens"] == 3 and j["usage"]["completion_tokens"] == 7, j["usage"])
    check(r.header("x-backstop-provider") == "sim-a", r.headers)
    st = a.stats()
    # The key goes upstream as x-api-key (the sim reports the key it got).
    check(st["last_headers"]["authorization"] == SIM_KEY, st)
    upstream = st["last_request"]
    check(upstream["model"] == "sim-a-model" and upstream["max_tokens"] == 100, upstream)
    check(upstream["stop_sequences"] == ["zzz"] and upstream["temperature"] == 0.2, upstream)
    log = gw.access()[-1]
    check(log["prompt_tokens"] == 3 and log["completion_tokens"] == 7, log)


def test_anthropic_stream(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    check_usage_stream(gw)
    # Without include_usage there is no usage in the stream, and the access
    # log still has the counts.
    chs = chunks(gw.post(chat_body(stream=True)).body)
    check(all(c["choices"] and "usage" not in c for c in chs), chs)
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)
    log = gw.access()[-1]
    check(log["prompt_tokens"] == 3 and log["completion_tokens"] == 7, log)


def test_anthropic_tool_round_trip(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    call = first_tool_call(gw)
    sent = a.stats()["last_request"]
    check(sent["tools"][0]["input_schema"] == WEATHER_TOOL["function"]["parameters"], sent)
    second_tool_turn(gw, call)
    sent = a.stats()["last_request"]["messages"]
    check(sent[1]["content"][0]["type"] == "tool_use" and sent[1]["content"][0]["input"] == {"city": "x"}, sent)
    check(sent[2]["content"][0]["type"] == "tool_result", sent)
    # The same loop streamed: arguments arrive as deltas by index.
    streamed_tool_loop(gw)


def test_anthropic_error_mapping(env):
    """Each Anthropic error reaches an OpenAI client as OpenAI would say it,
    and the failover engine classes it right (see the failover header)."""
    a = env.sim("sim-a")
    cfg = mixed_config(env, [(a, "anthropic")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "rate_limited": "failover"}
    cases = [
        # fault, status, error code the client sees, the class (in the log)
        ("status=401", 503, None, "auth_failed"),
        ("status=429", 503, None, "rate_limited"),
        ("status=529", 503, None, "server_error"),
        ("status=400;code=context_length_exceeded", 400, "context_length_exceeded", "context_length"),
        ("status=400;message=bad_thing", 400, None, "client_error"),
    ]
    for i, (fault, status, code, cls) in enumerate(cases):
        # A fresh gateway per case: hard failures open the breaker at once.
        gw = env.gateway(cfg, name=f"gw{i}")
        a.fault(fault + ";count=1")
        r = gw.post(chat_body())
        check(r.status == status, (fault, r.status, r.body))
        body = r.json()
        check("error" in body and body["error"]["message"], (fault, body))
        if code:
            check(body["error"]["code"] == code, (fault, body))
        check(cls in body["error"]["message"] or gw.access()[-1]["error"] == cls, (fault, body, gw.access()[-1]))
    # A client error is returned as is, in OpenAI's shape, without failover.
    check(body["error"]["message"] == "bad_thing" and body["error"]["type"] == "invalid_request_error", body)
    # With "return" for the class, the client gets the upstream's error
    # translated, at the status OpenAI gives it.
    cfg["models"]["sim-chat"]["on"] = {"server_error": "return", "rate_limited": "return",
                                       "auth_failed": "return", "quota_exhausted": "return"}
    for i, (fault, status, code, etype) in enumerate([("status=529", 503, "overloaded", "server_error"),
                                       ("status=429", 429, "rate_limit_exceeded", "rate_limit_error"),
                                       ("status=401", 401, "invalid_api_key", "invalid_request_error"),
                                       ("status=400;code=insufficient_quota", 429, "insufficient_quota", None)]):
        gw = env.gateway(cfg, name=f"ret{i}")
        a.fault(fault + ";count=1")
        r = gw.post(chat_body())
        check(r.status == status, (fault, r.status, r.body))
        e = r.json()["error"]
        check(e["code"] == code and (etype is None or e["type"] == etype), (fault, r.status, e))


def test_anthropic_error_classes_fail_over(env):
    """Retryable Anthropic errors move the request on; the failover header
    names the class the adapter gave them."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "anthropic"), (b, "openai")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "rate_limited": "failover"}
    check_fails_over_as(env, cfg, a, [("status=529", "server_error"), ("status=429", "rate_limited"),
                                      ("status=401", "auth_failed"),
                                      ("status=400;code=context_length_exceeded", "context_length"),
                                      ("status=400;code=insufficient_quota", "quota_exhausted"),
                                      ("stream_error_after=1", "server_error")])


def _tool_loop_across(env, first_type, second_type, stream):
    """An agent's tool loop: the first turn is served by target A; on the
    second, A fails before its first token and B serves.  The answers are
    compared with the same loop served without any failure."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, first_type), (b, second_type)])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    call, ans2 = tool_loop_failover(gw, a, "status=529" if first_type == "anthropic" else "status=503", stream)
    # What B saw: the whole conversation, the tool call and its result.
    sent = b.stats()["last_request"]
    if second_type == "anthropic":
        blocks = [blk for m in sent["messages"] if isinstance(m["content"], list) for blk in m["content"]]
        check(any(x["type"] == "tool_use" and x["input"] == json.loads(call["arguments"]) for x in blocks), sent)
        check(any(x["type"] == "tool_result" for x in blocks), sent)
    else:
        check(sent["messages"][1]["tool_calls"][0]["function"]["arguments"] == call["arguments"]
              or json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == json.loads(call["arguments"]),
              sent)
        check(sent["messages"][2]["role"] == "tool", sent)
    # The reference: the same turn served by B alone, without a failure.
    check_like_reference(env, a, mixed_config(env, [(b, second_type)]), call, ans2, stream)


def test_tool_loop_failover_anthropic_to_openai(env):
    _tool_loop_across(env, "anthropic", "openai", stream=False)


def test_tool_loop_failover_openai_to_anthropic(env):
    _tool_loop_across(env, "openai", "anthropic", stream=False)


def test_tool_loop_failover_anthropic_to_openai_stream(env):
    _tool_loop_across(env, "anthropic", "openai", stream=True)


def test_tool_loop_failover_openai_to_anthropic_stream(env):
    _tool_loop_across(env, "openai", "anthropic", stream=True)


def test_anthropic_stream_failures_before_content_are_invisible(env):
    """A stream that breaks before its first content (an error event, a cut
    after message_start) fails over without the client seeing it."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "anthropic"), (b, "anthropic")])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "stream_cut": "failover"}
    gw = env.gateway(cfg)
    for fault in ["stream_error_after=2", "close_after=3", "empty_tool_turn"]:
        a.fault(fault + ";count=1")
        r = gw.post(chat_body(stream=True))
        if fault == "empty_tool_turn":
            # Not a failure: a text answer is unaffected by it.
            check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (fault, r.headers))
            continue
        check(r.status == 200, (fault, r.status, r.body))
        chs = chunks(r.body)
        check(stream_text(chs) == "Hello from sim-b. You said: hello there", (fault, chs))
        check(b"error" not in r.body, (fault, r.body))


def test_anthropic_stream_cut_after_content_continues(env):
    """After content reached the client, a cut stream is continued on the
    next target (of the other format) when the chain allows it."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "anthropic"), (b, "openai")])
    cfg["models"]["sim-chat"]["continue_streams"] = True
    gw = env.gateway(cfg)
    a.fault("close_after=5")
    r = gw.post(chat_body(stream=True))
    check(r.status == 200, (r.status, r.body))
    chs = chunks(r.body)
    check(len({c["id"] for c in chs}) == 1, chs)
    text = stream_text(chs)
    # close_after=5: message_start, ping, content_block_start and two words
    check(text == "Hello from Hello from sim-b. You said: hello there", text)
    sent = b.stats()["last_request"]["messages"]
    check(sent[-1] == {"role": "assistant", "content": "Hello from "}, sent)
    check(finish_reasons(chs) == ["stop"], chs)


def test_anthropic_stream_broken_after_content(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    a.fault("stream_error_after=5")
    r = gw.post(chat_body(stream=True))
    check(r.status == 200, r.status)
    from harness import sse_events
    ev = sse_events(r.body)
    check(ev[-1] != "[DONE]" and "error" in json.loads(ev[-1]), ev)
    check(stream_text([json.loads(e) for e in ev[:-1]]) == "Hello from ", ev)


def test_anthropic_bad_answers_fail_over(env):
    """Broken tool arguments from the Anthropic side (a body that is not
    JSON) and a wrong model are caught: the first is a bad answer."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(mixed_config(env, [(a, "anthropic"), (b, "openai")]))
    a.fault("bad_tool_args;count=1")
    r = gw.post(tool_turn_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers, r.body))
    check("bad_response" in r.header("x-backstop-failover"), r.headers)
    a.fault("model=claude-other;count=1")
    r = gw.post(chat_body())
    check(r.status == 200 and r.json()["model"] == "claude-other", r.body)


def test_anthropic_target_is_probed(env):
    """The controller probes an Anthropic target with GET /v1/models (the
    sim's base ends in /v1, so /models is appended) and marks it up."""
    from test_probes import FAST_PROBES, state_is
    from harness import wait_for
    a = env.sim("sim-a")
    cfg = mixed_config(env, [(a, "anthropic")], probes=dict(FAST_PROBES, enabled=True))
    gw = env.gateway(cfg)
    wait_for(lambda: state_is(gw, "sim-a/sim-a-model", "up"), 10, what="anthropic target up")


def test_hedge_across_formats(env):
    """A slow Anthropic target is hedged by an OpenAI one (and the other way
    round); the winner's answer reaches the client, the loser is cancelled."""
    from harness import wait_for
    for i, (ta, tb) in enumerate([("anthropic", "openai"), ("openai", "anthropic")]):
        a = env.sim(f"sim-a{i}", fault="ttfb_ms=1500;latency_ms=1500")
        b = env.sim(f"sim-b{i}")
        cfg = mixed_config(env, [(a, ta), (b, tb)])
        cfg["models"]["sim-chat"]["hedge"] = {"after_ms": 100, "budget_pct": 100}
        gw = env.gateway(cfg, name=f"gw{i}")
        for stream in (False, True):
            r = gw.post(chat_body(stream=stream))
            check(r.status == 200 and r.header("x-backstop-provider") == f"sim-b{i}", (ta, stream, r.headers))
            check(r.header("x-backstop-failover") == f"sim-a{i}/sim-a{i}-model=hedged", r.headers)
            text = stream_text(chunks(r.body)) if stream else r.json()["choices"][0]["message"]["content"]
            check(text == f"Hello from sim-b{i}. You said: hello there", text)
        wait_for(lambda: a.stats()["cancelled"] == 2, 5, what="losers cancelled")


def test_untranslatable_request_is_a_client_error(env):
    """A request no target's format can express (tool arguments that are
    not JSON cannot become Anthropic's input object) is the client's error,
    named; a chain with an OpenAI target still serves it."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    body = tool_result_body({"id": "call_1", "name": "get_weather", "arguments": "{not json"})
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    r = gw.post(body)
    check(r.status == 400 and r.json()["error"]["type"] == "invalid_request_error", (r.status, r.body))
    check("arguments" in r.json()["error"]["message"], r.body)
    check(a.stats()["requests"] == 0, "an untranslatable request was sent")
    gw2 = env.gateway(mixed_config(env, [(a, "anthropic"), (b, "openai")]), name="gw2")
    r = gw2.post(body)
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.body))
