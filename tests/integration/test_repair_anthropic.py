"""Answer contracts with Anthropic on either side: an Anthropic-format
target's broken answers (translated to OpenAI by its adapter before the
check) are repaired like any other, the corrective request goes through the
adapter, and an Anthropic client (POST /v1/messages) gets repairs and
errors in its own API."""
import json

from adapters import (ANT_HEADERS, ANT_WEATHER_TOOL, WEATHER_TOOL, ant_body, chunks, mixed_config,
                      named_events, stream_tool_calls)
from harness import check, chat_body


def tools_body(stream=False, choice="required"):
    return chat_body(stream=stream, tools=[WEATHER_TOOL], tool_choice=choice)


def call_of(r, stream):
    if stream:
        calls = stream_tool_calls(chunks(r.body))
        check(len(calls) == 1, calls)
        return calls[0]["name"], json.loads(calls[0]["arguments"])
    m = r.json()["choices"][0]["message"]
    check(len(m.get("tool_calls") or []) == 1, m)
    return m["tool_calls"][0]["function"]["name"], json.loads(m["tool_calls"][0]["function"]["arguments"])


def last_request(sim):
    body = sim.stats()["last_request"]
    return json.loads(body) if isinstance(body, str) else body


def retried_on_anthropic(env, fault, problem, stream):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(mixed_config(env, [(a, "anthropic"), (b, "openai")]))
    a.fault(f"{fault};count=1")
    r = gw.post(tools_body(stream=stream))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers, r.body))
    check(r.header("x-backstop-repair") == f"{problem}@sim-a/sim-a-model->retry", r.headers)
    check(call_of(r, stream) == ("get_weather", {"city": "x"}), r.body)
    check(a.stats()["requests"] == 2 and b.stats()["requests"] == 0, "the repair left the target")
    req = last_request(a)
    check(req["tool_choice"]["type"] == "any", req)
    return req["messages"]


def test_anthropic_empty_tool_turn_retried(env):
    msgs = retried_on_anthropic(env, "empty_tool_turn", "empty_tool_turn", False)
    check([m["role"] for m in msgs] == ["user", "user"] or [m["role"] for m in msgs] == ["user"], msgs)
    check("requires a tool call" in json.dumps(msgs[-1]), msgs)


def test_anthropic_empty_tool_turn_retried_stream(env):
    retried_on_anthropic(env, "empty_tool_turn", "empty_tool_turn", True)


def test_anthropic_schema_violation_retried_through_adapter(env):
    msgs = retried_on_anthropic(env, "schema_violation", "tool_args_schema", False)
    # In Anthropic's shape: the broken tool_use, then its tool_result
    # carrying the problem, with the correction in the same user turn.
    check([m["role"] for m in msgs] == ["user", "assistant", "user"], msgs)
    use = [b for b in msgs[1]["content"] if b["type"] == "tool_use"][0]
    check(use["name"] == "get_weather" and use["input"] == {"city": 12345}, use)
    result = [b for b in msgs[2]["content"] if b["type"] == "tool_result"][0]
    check(result["tool_use_id"] == use["id"] and "$.city" in json.dumps(result), result)


def test_anthropic_bad_args_stream_retried(env):
    retried_on_anthropic(env, "bad_tool_args", "bad_tool_args", True)


def test_anthropic_unknown_tool_fails_over_to_openai_stream(env):
    a = env.sim("sim-a", fault="unknown_tool")
    b = env.sim("sim-b")
    gw = env.gateway(mixed_config(env, [(a, "anthropic"), (b, "openai")]))
    r = gw.post(tools_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    check(r.header("x-backstop-repair") == "unknown_function@sim-a/sim-a-model->retry,"
          "unknown_function@sim-a/sim-a-model->failover", r.headers)
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=invalid_response", r.headers)
    check(call_of(r, True) == ("get_weather", {"city": "x"}), r.body)
    check(b"sim_unoffered_function" not in r.body, r.body)


def test_anthropic_exhausted(env):
    a = env.sim("sim-a", fault="empty_tool_turn")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    r = gw.post(tools_body())
    check(r.status == 502, (r.status, r.body))
    e = r.json()["error"]
    check(e["type"] == "invalid_response" and e["code"] == "empty_tool_turn", e)
    check(a.stats()["requests"] == 2, a.stats())


def test_anthropic_client_repaired_on_openai_target(env):
    """/v1/messages with tool_choice any: the OpenAI target's empty tool turn
    is retried, and the Anthropic client gets a clean tool_use."""
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "openai")]))
    a.fault("empty_tool_turn;count=1")
    r = gw.post(ant_body(tools=[ANT_WEATHER_TOOL], tool_choice={"type": "any"}), headers=ANT_HEADERS,
                path="/v1/messages")
    check(r.status == 200, (r.status, r.body))
    check(r.header("x-backstop-repair") == "empty_tool_turn@sim-a/sim-a-model->retry", r.headers)
    m = r.json()
    check(m["stop_reason"] == "tool_use", m)
    use = [b for b in m["content"] if b["type"] == "tool_use"]
    check(len(use) == 1 and use[0]["input"] == {"city": "x"}, m)


def test_anthropic_client_stream_repaired(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    a.fault("bad_tool_args;count=1")
    r = gw.post(ant_body(stream=True, tools=[ANT_WEATHER_TOOL], tool_choice={"type": "any"}),
                headers=ANT_HEADERS, path="/v1/messages")
    check(r.status == 200 and r.header("x-backstop-repair") == "bad_tool_args@sim-a/sim-a-model->retry",
          (r.status, r.headers))
    ev = named_events(r.body)
    names = [n for n, _ in ev if n != "ping"]
    check(names[0] == "message_start" and names[-1] == "message_stop" and "error" not in names, names)
    js = "".join(d["delta"].get("partial_json", "") for n, d in ev if n == "content_block_delta")
    check(json.loads(js) == {"city": "x"}, js)


def test_anthropic_client_exhausted_error_in_its_api(env):
    a = env.sim("sim-a", fault="schema_violation")
    gw = env.gateway(mixed_config(env, [(a, "openai")]))
    r = gw.post(ant_body(tools=[ANT_WEATHER_TOOL], tool_choice={"type": "any"}), headers=ANT_HEADERS,
                path="/v1/messages")
    check(r.status == 502, (r.status, r.body))
    e = r.json()
    check(e["type"] == "error" and "$.city" in e["error"]["message"], e)
