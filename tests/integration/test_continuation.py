"""A stream that breaks after bytes reached the client continues on the next
target, stitched into the same stream; tool calls end with an error event."""
import json

from harness import check, chat_body, sse_events, wait_for


def chunks(raw):
    evs = sse_events(raw)
    return [json.loads(e) for e in evs if e != "[DONE]"], evs


def text_of(chunks_):
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks_ if c.get("choices"))


def test_continue_after_cut(env):
    a = env.sim("sim-a", fault="close_after=3")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True, text="tell me a story", stream_options={"include_usage": True}))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    cs, evs = chunks(r.body)
    check(evs[-1] == "[DONE]" and evs.count("[DONE]") == 1, evs[-3:])
    check(not any("error" in c for c in cs), "error event in a continued stream")
    check(len({c["id"] for c in cs}) == 1, "chunks of one answer carry different ids")
    check(len({c["model"] for c in cs}) == 1, "model changed mid-stream")
    roles = [c for c in cs if c.get("choices") and "role" in c["choices"][0]["delta"]]
    check(len(roles) == 1, f"{len(roles)} role deltas")
    prefix = "Hello from "  # close_after=3: the role chunk and two words reached the client
    text = text_of(cs)
    check(text.startswith(prefix + "Hello from sim-b."), text)
    last = b.stats()["last_request"]["messages"][-1]
    check(last == {"role": "assistant", "content": prefix}, last)
    finishes = [c["choices"][0]["finish_reason"] for c in cs if c.get("choices") and c["choices"][0]["finish_reason"]]
    check(finishes == ["stop"], finishes)
    check(any(c.get("usage") for c in cs), "usage chunk of the continuation missing")
    ev = wait_for(lambda: [json.loads(v) for v in gw.lmdb("events")], 5, what="failover event")
    check(ev[0]["from"] == "sim-a/sim-a-model" and ev[0]["to"] == "sim-b/sim-b-model", ev)
    check(ev[0]["reason"] == "stream_cut", ev)


def test_continue_after_error_event(env):
    a = env.sim("sim-a", fault="stream_error_after=2")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True))
    cs, evs = chunks(r.body)
    check(evs[-1] == "[DONE]" and not any("error" in c for c in cs), evs[-3:])
    check(text_of(cs).startswith("Hello Hello from sim-b"), text_of(cs))


def test_tool_call_stream_is_not_continued(env):
    a = env.sim("sim-a", fault="close_after=2")
    b = env.sim("sim-b")
    cfg = env.config([a, b])
    # With answer checking on, the held tool call never reaches the client
    # and the cut fails over invisibly (test_repair); off, the role chunk
    # commits the stream and the cut is past continuing.
    cfg["models"]["sim-chat"]["repair"] = {"enabled": False}
    gw = env.gateway(cfg)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    r = gw.post(chat_body(stream=True, tools=tools))
    cs, evs = chunks(r.body)
    check(r.status == 200 and "error" in cs[-1], evs[-2:])
    check(cs[-1]["error"]["code"] == "stream_cut", cs[-1])
    check(b.stats()["requests"] == 0, "a tool-call stream was continued elsewhere")


def test_no_next_target_ends_with_error(env):
    a = env.sim("sim-a", fault="close_after=3")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(stream=True))
    cs, evs = chunks(r.body)
    check("error" in cs[-1] and evs[-1] != "[DONE]", evs[-2:])
