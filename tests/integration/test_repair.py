"""Answer contracts: broken 200 answers (empty tool turns, bad or
schema-violating tool arguments, unknown functions, JSON that is not what
response_format asked) are retried on the same target with a correction,
then failed over, and reported when every attempt broke them."""
import json
import re

from harness import check, chat_body, request, sse_events, wait_for

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": False}}}
SCHEMA_FMT = {"type": "json_schema", "json_schema": {"name": "n", "strict": True, "schema": {
    "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}


def tools_body(stream=False, choice="required", **extra):
    return chat_body(stream=stream, tools=[WEATHER], tool_choice=choice, **extra)


def stream_answer(raw):
    """(text, tool calls {index: {name, arguments}}, finish_reason, done) of an SSE body."""
    text, calls, finish, done = "", {}, None, False
    for e in sse_events(raw):
        if e == "[DONE]":
            done = True
            continue
        j = json.loads(e)
        check("error" not in j, e)
        for c in j.get("choices", []):
            d = c.get("delta", {})
            text += d.get("content") or ""
            for tc in d.get("tool_calls", []):
                k = calls.setdefault(tc["index"], {"name": "", "arguments": ""})
                k["name"] += tc.get("function", {}).get("name") or ""
                k["arguments"] += tc.get("function", {}).get("arguments") or ""
            finish = c.get("finish_reason") or finish
    return text, calls, finish, done


def the_call(r, stream):
    if stream:
        _, calls, finish, done = stream_answer(r.body)
        check(done and finish == "tool_calls" and len(calls) == 1, r.body)
        return calls[0]["name"], json.loads(calls[0]["arguments"])
    m = r.json()["choices"][0]["message"]
    check(len(m.get("tool_calls") or []) == 1, m)
    f = m["tool_calls"][0]["function"]
    return f["name"], json.loads(f["arguments"])


def last_messages(sim):
    body = sim.stats()["last_request"]
    if isinstance(body, str):
        body = json.loads(body)
    return body["messages"]


def repaired_on_same_target(env, fault, problem, stream):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    a.fault(f"{fault};count=1")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(tools_body(stream=stream))
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-provider") == "sim-a", r.headers)
    check(r.header("x-backstop-attempts") == "2", r.headers)
    check(r.header("x-backstop-repair") == f"{problem}@sim-a/sim-a-model->retry", r.headers)
    check(the_call(r, stream) == ("get_weather", {"city": "x"}), r.body)
    check(a.stats()["requests"] == 2 and b.stats()["requests"] == 0, "a repair left the target")
    return last_messages(a)


def test_empty_tool_turn_retried_same_target(env):
    msgs = repaired_on_same_target(env, "empty_tool_turn", "empty_tool_turn", False)
    # The empty turn is not echoed; the correction names what was missing.
    check([m["role"] for m in msgs] == ["user", "user"], msgs)
    check("requires a tool call" in msgs[-1]["content"] and "get_weather" in msgs[-1]["content"], msgs)


def test_empty_tool_turn_retried_same_target_stream(env):
    repaired_on_same_target(env, "empty_tool_turn", "empty_tool_turn", True)


def test_bad_args_retried_with_parse_position(env):
    msgs = repaired_on_same_target(env, "bad_tool_args", "bad_tool_args", False)
    check([m["role"] for m in msgs] == ["user", "assistant", "tool", "user"], msgs)
    # Sent back as an object every API takes, with the model's text in it.
    args = json.loads(msgs[1]["tool_calls"][0]["function"]["arguments"])
    check(args == {"invalid_arguments": '{"city": "Os'}, msgs[1])
    check(msgs[2]["tool_call_id"] == msgs[1]["tool_calls"][0]["id"], msgs)
    check("not valid JSON" in msgs[2]["content"] and "position" in msgs[2]["content"], msgs[2])


def test_bad_args_retried_stream(env):
    msgs = repaired_on_same_target(env, "bad_tool_args", "bad_tool_args", True)
    args = json.loads(msgs[1]["tool_calls"][0]["function"]["arguments"])
    check(args == {"invalid_arguments": '{"city": "Os'}, msgs[1])


def test_schema_violation_names_json_path(env):
    msgs = repaired_on_same_target(env, "schema_violation", "tool_args_schema", False)
    check("$.city" in msgs[-1]["content"], msgs[-1])


def test_unknown_function_stream(env):
    msgs = repaired_on_same_target(env, "unknown_tool", "unknown_function", True)
    check("sim_unoffered_function" in msgs[-1]["content"], msgs[-1])


def failed_over(env, stream):
    a = env.sim("sim-a", fault="bad_tool_args")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(tools_body(stream=stream))
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-provider") == "sim-b", r.headers)
    check(r.header("x-backstop-attempts") == "3", r.headers)
    check(r.header("x-backstop-repair") ==
          "bad_tool_args@sim-a/sim-a-model->retry,bad_tool_args@sim-a/sim-a-model->failover", r.headers)
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=invalid_response", r.headers)
    check(the_call(r, stream) == ("get_weather", {"city": "x"}), r.body)
    # The next target gets the client's own request, not the correction.
    check(len(last_messages(b)) == 1, last_messages(b))


def test_repaired_by_failover(env):
    failed_over(env, False)


def test_repaired_by_failover_stream(env):
    failed_over(env, True)


def exhausted(env, stream, mode):
    a = env.sim("sim-a", fault="empty_tool_turn")
    b = env.sim("sim-b", fault="empty_tool_turn")
    cfg = env.config([a, b])
    cfg["models"]["sim-chat"]["repair"] = {"retry_same": 0, "on_exhausted": mode}
    gw = env.gateway(cfg)
    r = gw.post(tools_body(stream=stream))
    check(a.stats()["requests"] == 1 and b.stats()["requests"] == 1, "retry_same: 0 retried")
    return r


def test_exhausted_error(env):
    r = exhausted(env, False, "error")
    check(r.status == 502, (r.status, r.body))
    e = r.json()["error"]
    check(e["type"] == "invalid_response" and e["code"] == "empty_tool_turn", e)
    check("sim-a/sim-a-model: the request requires a tool call" in e["message"] and
          "sim-b/sim-b-model" in e["message"], e)


def test_exhausted_error_stream(env):
    r = exhausted(env, True, "error")
    check(r.status == 502 and r.json()["error"]["type"] == "invalid_response", (r.status, r.body))


def test_exhausted_return_last(env):
    r = exhausted(env, False, "return_last")
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-provider") == "sim-b", r.headers)
    check(r.header("x-backstop-validation").startswith("failed; empty_tool_turn: "), r.headers)
    c = r.json()["choices"][0]
    check(c["finish_reason"] == "tool_calls" and not c["message"].get("tool_calls"), c)


def test_exhausted_return_last_stream(env):
    r = exhausted(env, True, "return_last")
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-validation").startswith("failed; empty_tool_turn: "), r.headers)
    text, calls, finish, done = stream_answer(r.body)
    check(done and finish == "tool_calls" and not calls and text == "", r.body)




def same_bytes_as_direct(env, stream):
    """tool_choice auto and a text answer is not a break: the client gets the
    upstream's bytes untouched (only the sim's per-request id and clock differ
    from a second, direct request)."""
    a = env.sim("sim-a", fault="no_tools")
    gw = env.gateway(env.config([a]))
    r = gw.post(tools_body(stream=stream, choice="auto"))
    check(r.status == 200 and r.header("x-backstop-repair") is None, (r.status, r.headers))
    check(r.header("x-backstop-attempts") == "1", r.headers)
    d = request(a.port, "POST", "/v1/chat/completions",
                tools_body(stream=stream, choice="auto", model="sim-a-model"))
    norm = lambda b: re.sub(rb'"created":\d+', b'"created":0', re.sub(rb'chatcmpl-sim-a-\d+', b'ID', b))
    check(norm(r.body) == norm(d.body), (r.body, d.body))
    return r


def test_auto_without_call_passes_byte_exact(env):
    r = same_bytes_as_direct(env, False)
    check(r.json()["choices"][0]["message"]["content"].startswith("Hello from sim-a"), r.body)


def test_auto_without_call_stream_byte_exact(env):
    r = same_bytes_as_direct(env, True)
    text, calls, finish, done = stream_answer(r.body)
    check(done and not calls and finish == "stop" and text.startswith("Hello from sim-a"), r.body)


def test_json_object_not_json_repaired(env):
    a = env.sim("sim-a")
    a.fault("not_json;count=1")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(response_format={"type": "json_object"}))
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-repair") == "not_json@sim-a/sim-a-model->retry", r.headers)
    check(json.loads(r.json()["choices"][0]["message"]["content"])["answer"].startswith("Hello"), r.body)
    msgs = last_messages(a)
    check(msgs[1]["role"] == "assistant" and "not valid JSON" in msgs[2]["content"], msgs)


def test_json_schema_violation_stream_repaired(env):
    a = env.sim("sim-a")
    a.fault("schema_violation;count=1")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(stream=True, response_format=SCHEMA_FMT))
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-repair") == "json_schema@sim-a/sim-a-model->retry", r.headers)
    text, _, finish, done = stream_answer(r.body)
    check(done and json.loads(text) == {"n": 1}, r.body)
    check("$.n" in last_messages(a)[-1]["content"], last_messages(a))


def test_repair_disabled_relays_broken_answer(env):
    a = env.sim("sim-a", fault="bad_tool_args")
    cfg = env.config([a])
    cfg["models"]["sim-chat"]["repair"] = {"enabled": False}
    gw = env.gateway(cfg)
    r = gw.post(tools_body())
    check(r.status == 200 and r.header("x-backstop-repair") is None, (r.status, r.headers))
    check(a.stats()["requests"] == 1, "a disabled repair retried")


def test_text_already_streamed_ends_with_error_event(env):
    """tool_choice required, and the model answers in prose: the text flows as
    it comes, so when the missing call shows, it is too late to retry
    invisibly: the stream ends with an explicit invalid_response event."""
    a = env.sim("sim-a", fault="no_tools")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(tools_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    events = sse_events(r.body)
    check("[DONE]" not in events, events)
    text = "".join((json.loads(e)["choices"][0]["delta"].get("content") or "")
                   for e in events[:-1] if json.loads(e).get("choices"))
    check(text.startswith("Hello from sim-a"), events)
    err = json.loads(events[-1])["error"]
    check(err["type"] == "invalid_response" and err["code"] == "empty_tool_turn", err)
    check(b.stats()["requests"] == 0, "a committed stream failed over")


def test_counted_per_target_not_against_health(env):
    a = env.sim("sim-a", fault="empty_tool_turn")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["breaker"] = {"consecutive_failures": 2}
    gw = env.gateway(cfg)
    for i in range(4):
        r = gw.post(tools_body(), headers={"x-request-id": f"rep-{i}"})
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    # 8 broken answers in a row, and the breaker never opened: every request
    # still started at sim-a.
    check(a.stats()["requests"] == 8, a.stats())
    # The retry's event and the failover's may land in different writes of
    # the controller: wait for both.
    ev = wait_for(lambda: (lambda e: len(e) >= 2 and e)(
                      [json.loads(v) for v in gw.lmdb("events") if json.loads(v)["request_id"] == "rep-0"]),
                  5, what="both events of rep-0")
    check(sorted((e["from"], e["to"], e["reason"]) for e in ev) == [
        ("sim-a/sim-a-model", "sim-a/sim-a-model", "invalid_response"),
        ("sim-a/sim-a-model", "sim-b/sim-b-model", "invalid_response")], ev)

    def health():
        for v in gw.lmdb("health"):
            h = json.loads(v)
            if h.get("failures_by_class", {}).get("invalid_response") == 8:
                return h
        return None
    h = wait_for(health, 5, what="health with 8 invalid_response")
    check(h["failures"] == 0 and h["last_failure"] is None, h)


def test_cut_while_call_held_fails_over_invisibly(env):
    """A stream cut in the middle of a tool call: nothing of the call reached
    the client, so the next target answers as if the first never had."""
    a = env.sim("sim-a", fault="close_after=3")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(tools_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=stream_cut", r.headers)
    check(the_call(r, True) == ("get_weather", {"city": "x"}), r.body)
    check(b"sim-a" not in r.body, r.body)


def test_stall_while_call_held_is_idle_timeout(env):
    """An upstream that goes silent in the middle of a held tool call has
    started its answer: the stall is an idle timeout, and since nothing
    reached the client, the next target answers invisibly."""
    a = env.sim("sim-a", fault="chunk_delay_ms=1500")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    cfg["timeouts"]["idle_stream_ms"] = 400
    gw = env.gateway(cfg)
    r = gw.post(tools_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=idle_stream_timeout", r.headers)
    check(the_call(r, True) == ("get_weather", {"city": "x"}), r.body)


def test_hedge_race_with_a_broken_racer(env):
    """The slow first target answers a broken call while the hedge's answer
    is good: the broken racer drops out (its answer never reached the
    client) and the hedge's answer is the one served."""
    a = env.sim("sim-a", fault="bad_tool_args;ttfb_ms=300;latency_ms=300")
    b = env.sim("sim-b", fault="ttfb_ms=600;latency_ms=600")
    cfg = env.config([a, b])
    cfg["models"]["sim-chat"]["hedge"] = {"after_ms": 100, "budget_pct": 100}
    gw = env.gateway(cfg)
    for stream in (False, True):
        r = gw.post(tools_body(stream=stream))
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (stream, r.status, r.headers))
        check(the_call(r, stream) == ("get_weather", {"city": "x"}), r.body)
