"""Answer contracts on a Bedrock target: its broken answers, translated to
OpenAI by the Bedrock adapter (from Converse JSON or event-stream frames),
are repaired like any other, and the corrective request goes out in
Converse's shape, signed."""
from adapters import bedrock_sim, mixed_config
from harness import check
from test_repair_anthropic import call_of, last_request, tools_body


def retried_on_bedrock(env, fault, problem, stream):
    a = bedrock_sim(env, "sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(mixed_config(env, [(a, "bedrock"), (b, "openai")]))
    a.fault(f"{fault};count=1")
    r = gw.post(tools_body(stream=stream))
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-a", (r.status, r.headers, r.body))
    check(r.header("x-backstop-repair") == f"{problem}@sim-a/sim-a-model->retry", r.headers)
    check(call_of(r, stream) == ("get_weather", {"city": "x"}), r.body)
    check(a.stats()["requests"] == 2 and b.stats()["requests"] == 0, "the repair left the target")
    req = last_request(a)
    check(req["toolConfig"]["toolChoice"] == {"any": {}}, req)
    return req["messages"]


def test_bedrock_schema_violation_retried_through_adapter(env):
    msgs = retried_on_bedrock(env, "schema_violation", "tool_args_schema", False)
    # The broken toolUse, then its toolResult carrying the problem.
    uses = [c["toolUse"] for m in msgs if m["role"] == "assistant" for c in m["content"] if "toolUse" in c]
    results = [c["toolResult"] for m in msgs if m["role"] == "user" for c in m["content"] if "toolResult" in c]
    check(len(uses) == 1 and len(results) == 1 and results[0]["toolUseId"] == uses[0]["toolUseId"], msgs)


def test_bedrock_empty_tool_turn_retried_stream(env):
    retried_on_bedrock(env, "empty_tool_turn", "empty_tool_turn", True)
