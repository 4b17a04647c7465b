"""A stream cut in the middle of an event (issue 16, item 1): the client
only ever reads whole events, so whatever follows the cut (the gateway's
error event, a continuation's first chunk) starts on an event boundary."""
import json

from harness import check, chat_body
from provider_types import typed_config


def whole_events(raw):
    """Every event of the raw SSE body, each checked to be one well-formed
    data line of JSON (or [DONE]); fails on anything else."""
    text = raw.decode()
    check(text.endswith("\n\n"), f"the stream does not end on an event boundary: {text[-80:]!r}")
    out = []
    for block in text.split("\n\n")[:-1]:
        check(block.startswith("data: ") and "\n" not in block, f"not one data line: {block!r}")
        data = block[len("data: "):]
        if data == "[DONE]":
            out.append(data)
            continue
        try:
            out.append(json.loads(data))
        except ValueError:
            check(False, f"an event that is not JSON: {data!r}")
    return out


def text_of(evs):
    return "".join((e["choices"][0]["delta"].get("content") or "") for e in evs
                   if isinstance(e, dict) and e.get("choices"))


def test_cut_mid_event_then_error_event(env):
    a = env.sim("sim-a", fault="cut_mid_event=3")
    cfg = env.config([a])
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    check(r.status == 200, (r.status, r.body))
    evs = whole_events(r.body)
    check(isinstance(evs[-1], dict) and "error" in evs[-1], evs[-2:])
    check(evs[-1]["error"]["code"] == "stream_cut", evs[-1])
    check("[DONE]" not in evs, evs)
    # The three whole events before the cut reached the client, the half one did not.
    check(len([e for e in evs if isinstance(e, dict) and e.get("choices")]) == 3, evs)


def test_cut_mid_event_then_continuation(env):
    a = env.sim("sim-a", fault="cut_mid_event=3")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a, b]))
    r = gw.post(chat_body(stream=True, text="tell me a story"))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    evs = whole_events(r.body)
    check(evs[-1] == "[DONE]" and evs.count("[DONE]") == 1, evs[-3:])
    check(not any(isinstance(e, dict) and "error" in e for e in evs), evs)
    check(len({e["id"] for e in evs if isinstance(e, dict)}) == 1, "chunks of one answer carry different ids")
    text = text_of(evs)
    check(text.startswith("Hello from Hello from sim-b."), text)


def test_cut_mid_event_on_a_translated_target(env):
    # An Anthropic stream cut inside an event: the adapter's decoder sees no
    # end event; the OpenAI client reads whole chunks and one clean ending.
    a = env.sim("sim-a", fault="cut_mid_event=4")
    b = env.sim("sim-b")
    gw = env.gateway(typed_config(env, [(a, "anthropic"), (b, "openai")]))
    r = gw.post(chat_body(stream=True, text="tell me a story"))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers))
    evs = whole_events(r.body)
    check(evs[-1] == "[DONE]" and evs.count("[DONE]") == 1, evs[-3:])
    check(not any(isinstance(e, dict) and "error" in e for e in evs), evs)
    check(a.stats()["requests"] == 1 and b.stats()["requests"] == 1, (a.stats(), b.stats()))


def test_cut_mid_event_on_the_libcurl_client(env):
    a = env.sim("sim-a", fault="cut_mid_event=3")
    cfg = env.config([a])
    cfg["providers"]["sim-a"]["http_client"] = "curl"
    gw = env.gateway(cfg)
    r = gw.post(chat_body(stream=True))
    evs = whole_events(r.body)
    check(isinstance(evs[-1], dict) and evs[-1]["error"]["code"] == "stream_cut", evs[-2:])
