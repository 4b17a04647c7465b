"""Helpers for the adapter tests: chains that mix provider types over
simulated providers, and the Anthropic side of the wire."""
import json
import re

from harness import chat_body, check, sse_events

SIM_KEY = "sk-ant-sim-test-key"
# The AWS credentials bedrock sims verify SigV4 signatures with.
AWS_AKID = "AKIDSIMTEST0001"
AWS_SECRET = "sim/Secret+Key/0001"


def bedrock_sim(env, name, secret=AWS_SECRET):
    """A sim that checks every Bedrock request's SigV4 signature."""
    return env.sim(name, args=["--aws-key", f"{AWS_AKID}:{secret}"])


def bedrock_provider(env, sim, secret=AWS_SECRET):
    env.proc_env["BACKSTOP_SIM_AWS_AKID"] = AWS_AKID
    env.proc_env["BACKSTOP_SIM_AWS_SECRET_" + sim.name.replace("-", "_")] = secret
    return {"type": "bedrock", "base_url": f"http://127.0.0.1:{sim.port}", "aws_region": "us-east-1",
            "api_key_env": "BACKSTOP_SIM_AWS_AKID",
            "aws_secret_key_env": "BACKSTOP_SIM_AWS_SECRET_" + sim.name.replace("-", "_")}


def mixed_config(env, targets, **extra):
    """targets: [(sim, type)], type "openai", "anthropic" or "bedrock"; one
    chain 'sim-chat' over them in order.  Anthropic providers get a key,
    bedrock ones AWS credentials (their sims from bedrock_sim)."""
    cfg = env.config([t[0] for t in targets], **extra)
    env.proc_env["BACKSTOP_SIM_ANT_KEY"] = SIM_KEY
    for sim, typ in targets:
        if typ == "anthropic":
            cfg["providers"][sim.name] = {"type": "anthropic", "base_url": sim.url,
                                          "api_key_env": "BACKSTOP_SIM_ANT_KEY"}
        elif typ == "bedrock":
            cfg["providers"][sim.name] = bedrock_provider(env, sim)
    return cfg


def named_events(raw):
    """An SSE body as [(event name, parsed data)]."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    out = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


def chunks(raw):
    """An OpenAI stream as its chunk objects; checks that it ends with [DONE]."""
    ev = sse_events(raw)
    check(ev and ev[-1] == "[DONE]", f"stream does not end with [DONE]: {ev[-3:]}")
    return [json.loads(e) for e in ev[:-1]]


def stream_text(chs):
    return "".join((c["choices"][0]["delta"].get("content") or "")
                   for c in chs if c.get("choices"))


def stream_tool_calls(chs):
    """Tool calls assembled from the deltas, by index."""
    calls = {}
    for c in chs:
        for ch in c.get("choices", []):
            for tc in ch["delta"].get("tool_calls") or []:
                cur = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                if tc.get("id"):
                    cur["id"] = tc["id"]
                fn = tc.get("function") or {}
                if fn.get("name"):
                    cur["name"] = fn["name"]
                cur["arguments"] += fn.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


def finish_reasons(chs):
    return [ch["finish_reason"] for c in chs for ch in c.get("choices", []) if ch.get("finish_reason")]


WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}

ANT_WEATHER_TOOL = {"name": "get_weather", "description": "Current weather",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                     "required": ["city"]}}


def tool_turn_body(stream=False):
    b = {"model": "sim-chat", "messages": [{"role": "user", "content": "Weather in Oslo?"}],
         "tools": [WEATHER_TOOL]}
    if stream:
        b["stream"] = True
    return b


def tool_result_body(call, stream=False, result="4 C, rain"):
    """The second turn of the tool loop: the call the first answer made,
    and its result."""
    b = tool_turn_body(stream)
    b["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function",
             "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": result}]
    return b


def ant_body(text="hello there", stream=False, **extra):
    b = {"model": "sim-chat", "max_tokens": 256, "messages": [{"role": "user", "content": text}]}
    if stream:
        b["stream"] = True
    b.update(extra)
    return b


ANT_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "client-key"}


# Many failures in a row on purpose: no breaker may step in.
NO_BREAKER = {"consecutive_failures": 1000, "error_rate_pct": 100, "min_requests": 100000}


def first_tool_call(gw):
    """Turn 1 of the tool loop, not streamed: the answer calls get_weather
    with the sim's {"city": "x"}; returns the call as the OpenAI answer has it."""
    r = gw.post(tool_turn_body())
    check(r.status == 200, (r.status, r.body))
    ch = r.json()["choices"][0]
    check(ch["finish_reason"] == "tool_calls", ch)
    call = ch["message"]["tool_calls"][0]
    check(call["type"] == "function" and call["function"]["name"] == "get_weather", call)
    check(json.loads(call["function"]["arguments"]) == {"city": "x"}, call)
    return call


def second_tool_turn(gw, call, sim="sim-a"):
    """Turn 2 of the tool loop, not streamed: the result of call goes back
    and the sim answers with it."""
    r = gw.post(tool_result_body({"id": call["id"], "name": "get_weather",
                                  "arguments": call["function"]["arguments"]}))
    check(r.status == 200, (r.status, r.body))
    check(r.json()["choices"][0]["message"]["content"] == f"Done from {sim}: 4 C, rain", r.body)


def streamed_tool_loop(gw, sim="sim-a"):
    """Both turns of the tool loop streamed: one call, assembled from the
    deltas, then the answer to its result."""
    chs = chunks(gw.post(tool_turn_body(stream=True)).body)
    calls = stream_tool_calls(chs)
    check(len(calls) == 1 and calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "x"},
          calls)
    check(finish_reasons(chs) == ["tool_calls"], chs)
    chs = chunks(gw.post(tool_result_body(calls[0], stream=True)).body)
    check(stream_text(chs) == f"Done from {sim}: 4 C, rain", chs)


def _turn(gw, body, stream):
    r = gw.post(body)
    check(r.status == 200, (r.status, r.body))
    return r, (chunks(r.body) if stream else r.json())


def tool_loop_failover(gw, a, fault, stream):
    """An agent's tool loop on gw's chain sim-a, sim-b: turn 1 served by a;
    on turn 2 a fails with fault before its first token and sim-b serves.
    Returns the call (as tool_result_body takes it) and turn 2's answer."""
    r1, ans1 = _turn(gw, tool_turn_body(stream), stream)
    check(r1.header("x-backstop-provider") == "sim-a", r1.headers)
    if stream:
        call = stream_tool_calls(ans1)[0]
    else:
        tc = ans1["choices"][0]["message"]["tool_calls"][0]
        call = {"id": tc["id"], "name": tc["function"]["name"], "arguments": tc["function"]["arguments"]}
    a.fault(fault)
    r2, ans2 = _turn(gw, tool_result_body(call, stream), stream)
    check(r2.header("x-backstop-provider") == "sim-b", r2.headers)
    check("sim-a/sim-a-model=server_error" in r2.header("x-backstop-failover"), r2.headers)
    return call, ans2


def check_like_reference(env, a, ref_cfg, call, ans2, stream):
    """Turn 2 after the failover answers as the same turn served by sim-b
    alone (ref_cfg), without a failure, does."""
    a.clear()
    _, ref = _turn(env.gateway(ref_cfg, name="ref"), tool_result_body(call, stream), stream)
    if stream:
        check(stream_text(ans2) == stream_text(ref) == "Done from sim-b: 4 C, rain", (ans2, ref))
        check(finish_reasons(ans2) == finish_reasons(ref) == ["stop"], ans2)
        check([sorted(c.keys()) for c in ans2] == [sorted(c.keys()) for c in ref], (ans2, ref))
        check(len({c["id"] for c in ans2}) == 1, ans2)
    else:
        check(sorted(ans2.keys()) == sorted(ref.keys()), (ans2, ref))
        check(ans2["choices"][0]["message"] == ref["choices"][0]["message"], (ans2, ref))
        check(ans2["choices"][0]["message"]["content"] == "Done from sim-b: 4 C, rain", ans2)
        check(ans2["choices"][0]["finish_reason"] == "stop", ans2)
        check(ans2["usage"] == ref["usage"], (ans2["usage"], ref["usage"]))


def check_fails_over_as(env, cfg, a, cases):
    """cases: [(fault, class)]: with sim-a failing so (streamed when the
    fault is a stream's), a fresh gateway on cfg (a hard failure may open
    a breaker) fails over to sim-b under that class, and the client gets
    sim-b's answer."""
    for i, (fault, cls) in enumerate(cases):
        gw = env.gateway(cfg, name=f"gw{i}")
        a.fault(fault)
        stream = "stream" in fault
        r = gw.post(chat_body(stream=stream))
        check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (fault, r.status, r.body))
        check(r.header("x-backstop-failover") == f"sim-a/sim-a-model={cls}", (fault, r.headers))
        text = stream_text(chunks(r.body)) if stream else r.json()["choices"][0]["message"]["content"]
        check(text == "Hello from sim-b. You said: hello there", (fault, r.body))
        a.clear()
        gw.stop()


def check_usage_stream(gw):
    """A stream asked with include_usage: sim-a's greeting in chunks of one
    id, one stop, then the usage chunk; the access log has the counts.
    Returns the chunks."""
    r = gw.post(chat_body(stream=True, stream_options={"include_usage": True}))
    check(r.status == 200 and r.header("content-type").startswith("text/event-stream"), (r.status, r.headers))
    chs = chunks(r.body)
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)
    check(finish_reasons(chs) == ["stop"], chs)
    check(len({c["id"] for c in chs}) == 1 and all(c["object"] == "chat.completion.chunk" for c in chs), chs)
    check(chs[-1]["choices"] == [] and chs[-1]["usage"]["completion_tokens"] == 7, chs[-1])
    log = gw.access()[-1]
    check(log["stream"] and log["completion_tokens"] == 7, log)
    return chs
