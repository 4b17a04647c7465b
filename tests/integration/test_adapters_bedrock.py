"""OpenAI clients served by Bedrock Converse targets (through the adapter:
SigV4-signed requests that the sim verifies, binary event-stream answers),
and failover into Bedrock in the middle of a tool loop, through the real
gateway and simprov."""
import json

from adapters import (AWS_AKID, NO_BREAKER, WEATHER_TOOL, bedrock_provider, bedrock_sim, check_fails_over_as,
                      check_like_reference, check_usage_stream, chunks, first_tool_call, mixed_config, second_tool_turn,
                      stream_text, streamed_tool_loop, tool_loop_failover)
from harness import chat_body, check

def test_bedrock_plain(env):
    a = bedrock_sim(env, "sim-a")
    gw = env.gateway(mixed_config(env, [(a, "bedrock")]))
    r = gw.post(chat_body(temperature=0.2, max_tokens=100, stop=["zzz"], top_p=0.5,
                          messages=[{"role": "system", "content": "Be terse."},
                                    {"role": "user", "content": "hello there"}]))
    check(r.status == 200, (r.status, r.body))
    j = r.json()
    # Converse answers name no model: the target's id stands in for it.
    check(j["object"] == "chat.completion" and j["model"] == "sim-a-model", j)
    msg = j["choices"][0]["message"]
    check(msg["role"] == "assistant" and msg["content"] == "Hello from sim-a. You said: hello there", j)
    check(j["choices"][0]["finish_reason"] == "stop", j)
    check(j["usage"]["completion_tokens"] == 7 and j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] + 7, j)
    check(r.header("x-backstop-provider") == "sim-a", r.headers)
    st = a.stats()
    # Signed with SigV4 for the configured region and the signing name bedrock.
    auth = st["last_headers"]["authorization"]
    check(auth.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_AKID}/") and "/us-east-1/bedrock/aws4_request" in auth,
          auth)
    check(st["models"] == {"sim-a-model": 1}, st)
    up = st["last_request"]
    check(up["system"] == [{"text": "Be terse."}], up)
    check(up["messages"] == [{"role": "user", "content": [{"text": "hello there"}]}], up)
    check(up["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.2, "topP": 0.5, "stopSequences": ["zzz"]}, up)
    log = gw.access()[-1]
    check(log["completion_tokens"] == 7, log)
    # The model id is a path label: ':' is percent-encoded on the wire.
    cfg = mixed_config(env, [(a, "bedrock")])
    cfg["models"]["sim-chat"]["targets"][0]["model"] = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    gw2 = env.gateway(cfg, name="gw2")
    r = gw2.post(chat_body())
    check(r.status == 200, (r.status, r.body))
    check("anthropic.claude-3-5-sonnet-20240620-v1:0" in a.stats()["models"], a.stats()["models"])


def test_bedrock_stream(env):
    a = bedrock_sim(env, "sim-a")
    gw = env.gateway(mixed_config(env, [(a, "bedrock")]))
    check_usage_stream(gw)
    check(a.stats()["stream_requests"] == 1, a.stats())
    # Without include_usage there is no usage chunk; chunks=1 gives one delta.
    a.fault("chunks=1;count=1")
    chs = chunks(gw.post(chat_body(stream=True)).body)
    check(all(c["choices"] for c in chs) and "usage" not in chs[-1], chs[-1])
    check(stream_text(chs) == "Hello from sim-a. You said: hello there", chs)


def test_bedrock_tool_round_trip(env):
    a = bedrock_sim(env, "sim-a")
    gw = env.gateway(mixed_config(env, [(a, "bedrock")]))
    call = first_tool_call(gw)
    sent = a.stats()["last_request"]
    spec = sent["toolConfig"]["tools"][0]["toolSpec"]
    check(spec["inputSchema"]["json"] == WEATHER_TOOL["function"]["parameters"], sent)
    check(sent["toolConfig"]["toolChoice"] == {"auto": {}}, sent)
    second_tool_turn(gw, call)
    sent = a.stats()["last_request"]["messages"]
    check(sent[1]["content"][0]["toolUse"]["input"] == {"city": "x"}, sent)
    check(sent[2]["content"][0]["toolResult"]["content"] == [{"text": "4 C, rain"}], sent)
    # Streamed: the call's arguments arrive as deltas by index.
    streamed_tool_loop(gw)


def test_bedrock_error_mapping(env):
    """Bedrock's errors reach an OpenAI client as OpenAI would say them, and
    fail over under the class the adapter gave them."""
    a = bedrock_sim(env, "sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "bedrock"), (b, "openai")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover", "rate_limited": "failover"}
    cases = [("status=429", "rate_limited"), ("status=503", "server_error"),
             ("status=429;code=model_not_ready", "server_error"), ("status=424", "server_error"),
             ("status=403", "auth_failed"), ("status=404", "not_found"),
             ("status=400;code=insufficient_quota", "quota_exhausted"),
             ("status=400;code=context_length_exceeded", "context_length"),
             ("stream_error_after=1;code=throttlingException", "rate_limited"),
             ("stream_error_after=1;code=modelStreamErrorException", "stream_error")]
    check_fails_over_as(env, cfg, a, cases)
    # Alone in the chain: the client gets the error in OpenAI's shape.
    cfg = mixed_config(env, [(a, "bedrock")], breaker=NO_BREAKER)
    cfg["models"]["sim-chat"]["on"] = {"server_error": "return", "rate_limited": "return", "auth_failed": "return"}
    for i, (fault, status, code) in enumerate([("status=400;message=bad thing", 400, None),
                                               ("status=400;code=context_length_exceeded", 400,
                                                "context_length_exceeded"),
                                               ("status=429", 429, "rate_limit_exceeded"),
                                               ("status=503", 503, "overloaded"),
                                               ("status=403", 403, "permission_denied")]):
        gw = env.gateway(cfg, name=f"ret{i}")
        a.fault(fault + ";count=1")
        r = gw.post(chat_body())
        check(r.status == status, (fault, r.status, r.body))
        e = r.json()["error"]
        check(e["message"] and e["code"] == code, (fault, e))
        gw.stop()
    check(e["message"] == "You don't have access to the model with the specified model ID.", e)


def test_bedrock_bad_signature(env):
    """The sim recomputes every signature: a gateway holding the wrong
    secret is refused with Bedrock's 403, which fails over as auth_failed;
    the right secret with a session token is accepted."""
    a = bedrock_sim(env, "sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "bedrock"), (b, "openai")], breaker=NO_BREAKER)
    cfg["providers"]["sim-a"] = bedrock_provider(env, a, secret="not-the-secret")
    gw = env.gateway(cfg)
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.body))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=auth_failed", r.headers)
    check(a.stats()["completed"] == 1 and a.stats()["prompt_tokens"] == 0, a.stats())
    gw.stop()
    # The same through the stream endpoint.
    gw = env.gateway(cfg, name="gw-s")
    r = gw.post(chat_body(stream=True))
    check(r.status == 200 and r.header("x-backstop-failover") == "sim-a/sim-a-model=auth_failed", r.headers)
    gw.stop()
    # Right secret, with a session token: signed (x-amz-security-token in
    # SignedHeaders) and accepted.
    cfg["providers"]["sim-a"] = bedrock_provider(env, a)
    cfg["providers"]["sim-a"]["aws_session_token_env"] = "BACKSTOP_SIM_AWS_TOKEN"
    env.proc_env["BACKSTOP_SIM_AWS_TOKEN"] = "FQoGZXIvYXdzEXAMPLE//token="
    gw = env.gateway(cfg, name="gw-t")
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.body))
    check("x-amz-security-token" in a.stats()["last_headers"]["authorization"], a.stats()["last_headers"])


def _stored_key_gateway(env, key):
    """A bedrock sim and a gateway whose provider has no variables, only the
    stored key; returns (sim, the Authorization it got) once it is used."""
    import os
    import subprocess
    from harness import BIN, wait_for
    a = bedrock_sim(env, "sim-a")
    cfg = mixed_config(env, [(a, "bedrock")])
    p = cfg["providers"]["sim-a"]
    del p["aws_secret_key_env"]
    p["api_key_env"] = None
    gw = env.gateway(cfg)
    out = subprocess.run([os.path.join(BIN, "backstopctl"), "-c", gw.config_path, "keys", "set", "sim-a"],
                         input=key + "\n", capture_output=True, text=True, timeout=20, env=env.proc_env)
    check(out.returncode == 0, (out.stdout, out.stderr))
    wait_for(lambda: gw.post(chat_body()).status == 200, 15, what="stored key in use")
    return a, a.stats()["last_headers"]["authorization"]


def test_bedrock_stored_key(env):
    """A stored key "ACCESS_KEY_ID:SECRET" signs without any variable."""
    from adapters import AWS_SECRET
    _, auth = _stored_key_gateway(env, f"{AWS_AKID}:{AWS_SECRET}")
    check(auth.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_AKID}/"), auth)
    check("x-amz-security-token" not in auth, auth)


def _loop_into_bedrock(env, stream):
    """An OpenAI client's tool loop: turn 1 served by an Anthropic target;
    on turn 2 it fails (529) and Bedrock serves.  The answer is compared with
    the same turn served by Bedrock alone, without a failure."""
    a = env.sim("sim-a")
    b = bedrock_sim(env, "sim-b")
    cfg = mixed_config(env, [(a, "anthropic"), (b, "bedrock")])
    cfg["models"]["sim-chat"]["on"] = {"server_error": "failover"}
    gw = env.gateway(cfg)
    call, ans2 = tool_loop_failover(gw, a, "status=529", stream)
    # What Bedrock saw: the Anthropic tool call (its toolu_ id kept) and the
    # result, with the tool declared.
    sent = b.stats()["last_request"]
    use = sent["messages"][1]["content"][0]["toolUse"]
    check(use["toolUseId"] == call["id"] and use["input"] == json.loads(call["arguments"]), sent)
    check(sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == call["id"], sent)
    check(sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather", sent)
    check_like_reference(env, a, mixed_config(env, [(b, "bedrock")]), call, ans2, stream)


def test_tool_loop_failover_anthropic_to_bedrock(env):
    _loop_into_bedrock(env, stream=False)


def test_tool_loop_failover_anthropic_to_bedrock_stream(env):
    _loop_into_bedrock(env, stream=True)


def test_bedrock_stream_cut_and_continue(env):
    """A ConverseStream cut before content fails over invisibly; cut after
    content, the answer continues on the next target."""
    a = bedrock_sim(env, "sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "bedrock"), (b, "openai")])
    cfg["models"]["sim-chat"]["on"] = {"stream_cut": "failover"}
    cfg["models"]["sim-chat"]["continue_streams"] = True
    gw = env.gateway(cfg)
    a.fault("close_after=1;count=1")
    r = gw.post(chat_body(stream=True))
    check(stream_text(chunks(r.body)) == "Hello from sim-b. You said: hello there", r.body)
    check(b"error" not in r.body, r.body)
    a.fault("close_after=3;count=1")
    r = gw.post(chat_body(stream=True))
    chs = chunks(r.body)
    # messageStart and two words came before the cut.
    check(stream_text(chs) == "Hello from Hello from sim-b. You said: hello there", chs)
    check(b.stats()["last_request"]["messages"][-1] == {"role": "assistant", "content": "Hello from "},
          b.stats()["last_request"])


def test_bedrock_for_anthropic_clients(env):
    """An Anthropic SDK client (POST /v1/messages) served by Bedrock: a
    message, the exact event sequence when streamed, a tool call."""
    from adapters import ANT_HEADERS, ANT_WEATHER_TOOL, ant_body, named_events
    a = bedrock_sim(env, "sim-a")
    gw = env.gateway(mixed_config(env, [(a, "bedrock")]))
    r = gw.post(ant_body(system="Be terse.", stop_sequences=["zzz"]), headers=ANT_HEADERS, path="/v1/messages")
    check(r.status == 200, (r.status, r.body))
    m = r.json()
    check(m["type"] == "message" and m["content"] == [{"type": "text", "text": "Hello from sim-a. You said: hello there"}],
          m)
    check(m["stop_reason"] == "end_turn" and m["usage"]["output_tokens"] == 7, m)
    up = a.stats()["last_request"]
    check(up["system"] == [{"text": "Be terse."}] and up["inferenceConfig"]["stopSequences"] == ["zzz"], up)
    check(up["inferenceConfig"]["maxTokens"] == 256, up)
    r = gw.post(ant_body(stream=True), headers=ANT_HEADERS, path="/v1/messages")
    ev = named_events(r.body)
    names = [n for n, _ in ev if n != "ping"]
    check(names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names)
    check("".join(d["delta"].get("text", "") for n, d in ev if n == "content_block_delta")
          == "Hello from sim-a. You said: hello there", ev)
    r = gw.post(ant_body(text="Weather in Oslo?", tools=[ANT_WEATHER_TOOL]), headers=ANT_HEADERS, path="/v1/messages")
    m = r.json()
    check(m["stop_reason"] == "tool_use", m)
    use = [b for b in m["content"] if b["type"] == "tool_use"][0]
    check(use["name"] == "get_weather" and use["input"] == {"city": "x"}, m)


def test_bedrock_session_token_in_stored_key(env):
    """A stored "ACCESS_KEY_ID:SECRET:SESSION_TOKEN": the token is sent and
    signed; the signature verifies."""
    from adapters import AWS_SECRET
    _, auth = _stored_key_gateway(env, f"{AWS_AKID}:{AWS_SECRET}:IQoJb3JpZ2luX2VjEXAMPLE")
    check("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in auth, auth)


def test_bedrock_damaged_frame(env):
    """A ConverseStream frame whose CRC does not match is a bad answer:
    before content it fails over unseen; after content the answer goes on
    from the next target (continue_streams) or ends with an error event."""
    a = bedrock_sim(env, "sim-a")
    b = env.sim("sim-b")
    cfg = mixed_config(env, [(a, "bedrock"), (b, "openai")])
    cfg["models"]["sim-chat"]["continue_streams"] = True
    gw = env.gateway(cfg)
    a.fault("bad_crc_after=1;count=1")
    r = gw.post(chat_body(stream=True))
    check(r.header("x-backstop-failover") == "sim-a/sim-a-model=bad_response", r.headers)
    check(stream_text(chunks(r.body)) == "Hello from sim-b. You said: hello there", r.body)
    a.fault("bad_crc_after=3;count=1")
    r = gw.post(chat_body(stream=True))
    check(stream_text(chunks(r.body)) == "Hello from Hello from sim-b. You said: hello there", r.body)
    # Alone in its chain: the client is told, after what it already got.
    gw2 = env.gateway(mixed_config(env, [(a, "bedrock")]), name="alone")
    a.fault("bad_crc_after=3;count=1")
    r = gw2.post(chat_body(stream=True))
    from harness import sse_events
    ev = sse_events(r.body)
    check(ev[-1] != "[DONE]" and "error" in json.loads(ev[-1]), ev)
    check(stream_text([json.loads(e) for e in ev[:-1]]) == "Hello from ", ev)
