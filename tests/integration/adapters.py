"""Helpers for the adapter tests: chains that mix provider types over
simulated providers, and the Anthropic side of the wire."""
import json
import re

from harness import check, sse_events

SIM_KEY = "sk-ant-sim-test-key"


def mixed_config(env, targets, **extra):
    """targets: [(sim, type)], type "openai" or "anthropic"; one chain
    'sim-chat' over them in order.  Anthropic providers get a key."""
    cfg = env.config([t[0] for t in targets], **extra)
    env.proc_env["BACKSTOP_SIM_ANT_KEY"] = SIM_KEY
    for sim, typ in targets:
        if typ == "anthropic":
            cfg["providers"][sim.name] = {"type": "anthropic", "base_url": sim.url,
                                          "api_key_env": "BACKSTOP_SIM_ANT_KEY"}
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
