"""Where a stream ends (issue 16, items 2 and 3), through the real gateway
and simprov, on both HTTP clients: an upstream that closes after its end
event (`[DONE]`, Anthropic `message_stop`, Gemini's last `finishReason`,
Bedrock `metadata`) but before the chunked terminator has given the whole
answer, and an OpenAI-format stream that ends cleanly after its
finish_reason without `data: [DONE]` is whole too.  Both end for the
client as a normal stream ends, are no failover and count as a success of
the target; a stream that lacks its format's own end event stays a cut."""
import json
import os
import subprocess

import harness
from adapters import ANT_HEADERS, ant_body, bedrock_sim, mixed_config, named_events
from harness import chat_body, check, sse_events, wait_for
from provider_types import typed_config

MODES = ("auto", "curl")


def gateway(env, typ, fault, mode, tag="", **cfg_extra):
    """sim 'a-MODE' of type typ with the fault, then a healthy OpenAI
    fallback 'b-MODE' that must never be called (tag: more of the name,
    for a test that starts several per mode)."""
    mode_tag = mode + tag
    a = env.sim(f"a-{mode_tag}", fault=fault)
    b = env.sim(f"b-{mode_tag}")
    cfg = typed_config(env, [(a, typ), (b, "openai")], **cfg_extra)
    cfg["admin"] = {"socket": "admin.sock"}
    for p in cfg["providers"].values():
        p["http_client"] = mode
    return env.gateway(cfg, name=f"gw-{mode_tag}"), a, b


def target_health(gw, target):
    p = subprocess.run([os.path.join(harness.BIN, "backstopctl"), "-c", gw.config_path, "--json", "targets"],
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 0, p.stderr)
    return [t for t in json.loads(p.stdout)["targets"] if t["target"] == target][0]


def check_success(gw, a, b, r, mode):
    """The answer came from a alone, with no failover, and every count
    the gateway keeps calls it a success."""
    check(r.status == 200, (mode, r.status, r.body))
    check(r.header("x-backstop-failover") is None, (mode, r.headers))
    check(r.header("x-backstop-provider") == a.name, (mode, r.headers))
    check(b.stats()["requests"] == 0, (mode, "the fallback was called", b.stats()))
    log = gw.access()[-1]
    check(log["status"] == 200 and log["error"] is None and log["failover"] is None, (mode, log))
    target = f"{a.name}/{a.name}-model"
    t = wait_for(lambda: (lambda t: t if t["health"]["attempts"] >= 1 else None)(target_health(gw, target)),
                 10, what="the attempt in the target's health")
    check(t["health"]["ok"] == 1 and t["health"]["failures"] == 0, (mode, t["health"]))
    check(t["breaker"]["state"] == "closed", (mode, t["breaker"]))


def check_openai_stream(r, mode, text, usage=False):
    """Exactly one [DONE], last; no error event; the whole answer."""
    ev = sse_events(r.body)
    check(ev.count("[DONE]") == 1 and ev[-1] == "[DONE]", (mode, ev[-3:]))
    chs = [json.loads(e) for e in ev[:-1]]
    check(not any("error" in c for c in chs), (mode, chs[-2:]))
    got = "".join((c["choices"][0]["delta"].get("content") or "") for c in chs if c.get("choices"))
    check(got == text, (mode, got))
    finishes = [c["choices"][0]["finish_reason"] for c in chs if c.get("choices") and c["choices"][0].get("finish_reason")]
    check(finishes == ["stop"], (mode, finishes))
    if usage:
        check(chs[-1]["choices"] == [] and chs[-1]["usage"]["completion_tokens"] == 7, (mode, chs[-1]))


def _openai_client(env, typ, fault, usage=False):
    for mode in MODES:
        gw, a, b = gateway(env, typ, fault, mode)
        extra = {"stream_options": {"include_usage": True}} if usage else {}
        r = gw.post(chat_body(stream=True, **extra))
        check_openai_stream(r, mode, f"Hello from {a.name}. You said: hello there", usage)
        check_success(gw, a, b, r, mode)


def test_openai_closed_after_done(env):
    _openai_client(env, "openai", "cut_after_done")


def test_openai_closed_after_done_with_usage(env):
    _openai_client(env, "openai", "cut_after_done", usage=True)


def test_openai_without_done(env):
    _openai_client(env, "openai", "no_done")


def test_openai_without_done_with_usage(env):
    _openai_client(env, "openai", "no_done", usage=True)


def test_azure_without_done(env):
    _openai_client(env, "azure", "no_done", usage=True)


def test_azure_closed_after_done(env):
    _openai_client(env, "azure", "cut_after_done")


def test_anthropic_closed_after_message_stop(env):
    _openai_client(env, "anthropic", "cut_after_done", usage=True)


def test_gemini_closed_after_finish_reason(env):
    _openai_client(env, "gemini", "cut_after_done", usage=True)


def test_bedrock_closed_after_metadata(env):
    for mode in MODES:
        a = bedrock_sim(env, f"a-{mode}")
        a.fault("cut_after_done")
        b = env.sim(f"b-{mode}")
        cfg = mixed_config(env, [(a, "bedrock"), (b, "openai")])
        cfg["admin"] = {"socket": "admin.sock"}
        for p in cfg["providers"].values():
            p["http_client"] = mode
        gw = env.gateway(cfg, name=f"gw-{mode}")
        r = gw.post(chat_body(stream=True, stream_options={"include_usage": True}))
        check_openai_stream(r, mode, f"Hello from {a.name}. You said: hello there", usage=True)
        check_success(gw, a, b, r, mode)


def test_anthropic_without_message_stop_is_a_cut(env):
    # No message_stop: the format's own end is missing, so the stream is
    # cut even though its stop_reason came (in message_delta).
    for mode in MODES:
        gw, a, b = gateway(env, "anthropic", "no_done", mode)
        r = gw.post(chat_body(stream=True))
        check(r.status == 200, (mode, r.status))
        ev = sse_events(r.body)
        cut_event = any(e != "[DONE]" and json.loads(e).get("error", {}).get("code") == "stream_cut" for e in ev)
        check(cut_event or "=stream_cut" in (r.header("x-backstop-failover") or ""), (mode, r.headers, ev[-2:]))
        target = f"{a.name}/{a.name}-model"
        t = wait_for(lambda: (lambda t: t if t["health"]["failures"] >= 1 else None)(target_health(gw, target)),
                     10, what="the cut in the target's health")
        check(t["health"]["ok"] == 0 and t["health"]["failures_by_class"].get("stream_cut") == 1, (mode, t["health"]))


def _anthropic_client(env, fault):
    for mode in MODES:
        gw, a, b = gateway(env, "openai", fault, mode)
        r = gw.post(ant_body(stream=True), headers=ANT_HEADERS, path="/v1/messages")
        ev = named_events(r.body)
        names = [n for n, _ in ev if n != "ping"]
        check(names[-1] == "message_stop" and names.count("message_stop") == 1, (mode, names))
        check("error" not in names, (mode, names))
        text = "".join(d["delta"].get("text", "") for n, d in ev if n == "content_block_delta")
        check(text == f"Hello from {a.name}. You said: hello there", (mode, text))
        check_success(gw, a, b, r, mode)


def test_messages_client_closed_after_done(env):
    _anthropic_client(env, "cut_after_done")


def test_messages_client_without_done(env):
    _anthropic_client(env, "no_done")


SCHEMA_FMT = {"type": "json_schema", "json_schema": {"name": "n", "strict": True, "schema": {
    "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}


def test_checked_stream_without_done(env):
    # A stream checked against its response_format contract is held and
    # released by the contract relay: the [DONE] the gateway adds goes
    # through it too, once.
    for fault in ("no_done", "cut_after_done"):
        for mode in MODES:
            gw, a, b = gateway(env, "openai", fault, mode, tag="-" + fault.replace("_", ""))
            r = gw.post(chat_body(stream=True, response_format=SCHEMA_FMT))
            ev = sse_events(r.body)
            check(ev.count("[DONE]") == 1 and ev[-1] == "[DONE]", (mode, fault, ev[-3:]))
            chs = [json.loads(e) for e in ev[:-1]]
            check(not any("error" in c for c in chs), (mode, fault, chs[-2:]))
            text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chs if c.get("choices"))
            check(json.loads(text) == {"n": 1}, (mode, fault, text))
            check(r.header("x-backstop-repair") is None, (mode, fault, r.headers))
            check_success(gw, a, b, r, mode)
