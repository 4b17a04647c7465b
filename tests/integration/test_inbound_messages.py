"""POST /v1/messages: Anthropic clients on the gateway's chains, served by
OpenAI and Anthropic targets, with failover, through the real gateway."""
import json

from adapters import ANT_HEADERS, ANT_WEATHER_TOOL, ant_body, mixed_config, named_events
from harness import check

EVENT_ORDER = ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
               "message_delta", "message_stop"]


def post(gw, body):
    return gw.post(body, headers=ANT_HEADERS, path="/v1/messages")


def check_sequence(events):
    """The exact Anthropic event sequence: message_start, then blocks
    (start, deltas, stop) with increasing indexes, message_delta,
    message_stop; every data's type equals its event name."""
    names = [n for n, _ in events if n != "ping"]
    check(all(d["type"] == n for n, d in events), events)
    check(names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names)
    i, index = 1, 0
    while names[i] == "content_block_start":
        check(events_of(events, names, i)["index"] == index, events)
        i += 1
        while names[i] == "content_block_delta":
            i += 1
        check(names[i] == "content_block_stop", names)
        i += 1
        index += 1
    check(i == len(names) - 2, names)


def events_of(events, names, i):
    return [d for n, d in events if n != "ping"][i]


def text_of(events):
    return "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")


def _plain(env, typ):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, typ)]))
    r = post(gw, ant_body(system="Be terse.", temperature=0.5, stop_sequences=["zzz"]))
    check(r.status == 200, (r.status, r.body))
    m = r.json()
    check(m["type"] == "message" and m["role"] == "assistant" and m["model"] == "sim-chat", m)
    check(m["id"].startswith("msg_"), m)
    check(m["content"] == [{"type": "text", "text": "Hello from sim-a. You said: hello there"}], m)
    check(m["stop_reason"] == "end_turn" and m["stop_sequence"] is None, m)
    check(m["usage"]["output_tokens"] == 7 and m["usage"]["input_tokens"] > 0, m["usage"])
    sent = a.stats()["last_request"]
    if typ == "openai":
        check(sent["messages"][0] == {"role": "system", "content": "Be terse."}, sent)
        check(sent["stop"] == ["zzz"] and sent["temperature"] == 0.5, sent)
    else:
        check(sent["system"] == "Be terse." and sent["stop_sequences"] == ["zzz"], sent)
    log = gw.access()[-1]
    check(log["path"] == "/v1/messages" and log["completion_tokens"] == 7, log)


def test_messages_plain_openai_target(env):
    _plain(env, "openai")


def test_messages_plain_anthropic_target(env):
    _plain(env, "anthropic")


def _stream(env, typ):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, typ)]))
    r = post(gw, ant_body(stream=True))
    check(r.status == 200 and r.header("content-type").startswith("text/event-stream"), (r.status, r.body))
    ev = named_events(r.body)
    check_sequence(ev)
    check(text_of(ev) == "Hello from sim-a. You said: hello there", ev)
    start = ev[0][1]["message"]
    check(start["model"] == "sim-chat" and start["content"] == [] and start["id"].startswith("msg_"), start)
    delta = [d for n, d in ev if n == "message_delta"][0]
    check(delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] == 7, delta)
    log = gw.access()[-1]
    check(log["stream"] and log["completion_tokens"] == 7, log)


def test_messages_stream_openai_target(env):
    _stream(env, "openai")


def test_messages_stream_anthropic_target(env):
    _stream(env, "anthropic")


def _tools(env, typ, stream):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, typ)]))
    body = ant_body("Weather in Oslo?", stream=stream, tools=[ANT_WEATHER_TOOL], tool_choice={"type": "auto"})
    r = post(gw, body)
    check(r.status == 200, (r.status, r.body))
    if stream:
        ev = named_events(r.body)
        check_sequence(ev)
        blk = [d for n, d in ev if n == "content_block_start"][0]["content_block"]
        check(blk["type"] == "tool_use" and blk["name"] == "get_weather" and blk["input"] == {}, blk)
        args = "".join(d["delta"]["partial_json"] for n, d in ev if n == "content_block_delta")
        tool = {"id": blk["id"], "name": blk["name"], "input": json.loads(args)}
        stop = [d for n, d in ev if n == "message_delta"][0]["delta"]["stop_reason"]
    else:
        m = r.json()
        tool = m["content"][-1]
        stop = m["stop_reason"]
    check(stop == "tool_use" and tool["input"] == {"city": "x"}, (stop, tool))
    check(tool["id"].startswith("toolu_") or tool["id"], tool)
    sent = a.stats()["last_request"]
    if typ == "openai":
        check(sent["tools"][0]["function"]["parameters"] == ANT_WEATHER_TOOL["input_schema"], sent)
    # Second turn: the tool result goes back, the answer uses it.
    body["messages"] += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool["id"], "name": tool["name"],
                                           "input": tool["input"]}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"], "content": "4 C, rain"}]}]
    r = post(gw, body)
    check(r.status == 200, (r.status, r.body))
    if stream:
        ev = named_events(r.body)
        check_sequence(ev)
        check(text_of(ev) == "Done from sim-a: 4 C, rain", ev)
    else:
        check(r.json()["content"] == [{"type": "text", "text": "Done from sim-a: 4 C, rain"}], r.body)
    sent = a.stats()["last_request"]["messages"]
    if typ == "openai":
        check(sent[-1]["role"] == "tool" and sent[-1]["tool_call_id"] == tool["id"], sent)
        check(json.loads(sent[-2]["tool_calls"][0]["function"]["arguments"]) == {"city": "x"}, sent)


def test_messages_tools_openai_target(env):
    _tools(env, "openai", False)


def test_messages_tools_anthropic_target(env):
    _tools(env, "anthropic", False)


def test_messages_tools_stream_openai_target(env):
    _tools(env, "openai", True)


def test_messages_tools_stream_anthropic_target(env):
    _tools(env, "anthropic", True)


def test_messages_failover_both_ways(env):
    """The same chains and failover: an Anthropic client never sees the
    failed target, whichever format it spoke."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    for i, (ta, tb) in enumerate([("anthropic", "openai"), ("openai", "anthropic")]):
        cfg = mixed_config(env, [(a, ta), (b, tb)])
        cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
        gw = env.gateway(cfg, name=f"gw{i}")
        for stream in (False, True):
            a.fault("status=529;count=1" if ta == "anthropic" else "status=503;count=1")
            r = post(gw, ant_body(stream=stream))
            check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (ta, stream, r.status, r.body))
            if stream:
                ev = named_events(r.body)
                check_sequence(ev)
                check(text_of(ev) == "Hello from sim-b. You said: hello there", ev)
            else:
                check(r.json()["content"][0]["text"] == "Hello from sim-b. You said: hello there", r.body)


def test_messages_errors_in_anthropic_shape(env):
    a = env.sim("sim-a")
    cfg = mixed_config(env, [(a, "anthropic")])
    cfg["models"]["sim-chat"]["on"] = {"rate_limited": "return", "server_error": "return"}
    gw = env.gateway(cfg)
    # The gateway's own errors.
    r = post(gw, {"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    check(r.status == 404 and r.json()["type"] == "error", r.body)
    check(r.json()["error"]["type"] == "not_found_error", r.body)
    r = post(gw, {"model": "sim-chat", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]})
    check(r.status == 400 and r.json()["error"]["type"] == "invalid_request_error", r.body)
    check("role" in r.json()["error"]["message"], r.body)
    r = gw.post(b"{not json", headers=ANT_HEADERS, path="/v1/messages")
    check(r.status == 400 and r.json()["error"]["type"] == "invalid_request_error", r.body)
    r = gw.get("/v1/messages")
    check(r.status == 405 and r.json()["type"] == "error", r.body)
    # Upstream errors, translated back.
    for fault, status, etype in [("status=429", 429, "rate_limit_error"), ("status=529", 529, "overloaded_error"),
                                 ("status=400;message=bad_thing", 400, "invalid_request_error")]:
        a.fault(fault + ";count=1")
        r = post(gw, ant_body())
        check(r.status == status, (fault, r.status, r.body))
        e = r.json()
        check(e["type"] == "error" and e["error"]["type"] == etype, (fault, e))
    # An error after the stream started: an Anthropic error event ends it.
    a.fault("stream_error_after=5;count=1")
    r = post(gw, ant_body(stream=True))
    ev = named_events(r.body)
    check(ev[-1][0] == "error" and ev[-1][1]["type"] == "error", ev)
    # The class survives (a server error), Anthropic's finer type does not.
    check(ev[-1][1]["error"]["type"] == "api_error" and ev[-1][1]["error"]["message"] == "Overloaded", ev[-1])
    check("message_stop" not in [n for n, _ in ev], ev)


def test_models_stays_openai_shape(env):
    a = env.sim("sim-a")
    gw = env.gateway(mixed_config(env, [(a, "anthropic")]))
    j = gw.get("/v1/models").json()
    check(j["object"] == "list" and j["data"][0]["id"] == "sim-chat", j)


def test_messages_stream_continued_after_cut(env):
    """A stream cut after content reached an Anthropic client goes on at the
    next target inside the same message: one message_start, one text block."""
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "openai"), (b, "anthropic")])
    cfg["models"]["sim-chat"]["continue_streams"] = True
    gw = env.gateway(cfg)
    a.fault("close_after=3")  # the role chunk and two words reach the client
    r = post(gw, ant_body(stream=True))
    check(r.status == 200, (r.status, r.body))
    ev = named_events(r.body)
    check_sequence(ev)
    check([n for n, _ in ev].count("message_start") == 1, ev)
    check([n for n, _ in ev].count("content_block_start") == 1, ev)
    check(text_of(ev) == "Hello from Hello from sim-b. You said: hello there", text_of(ev))
    sent = b.stats()["last_request"]["messages"]
    check(sent[-1]["role"] == "assistant", sent)
