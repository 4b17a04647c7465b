// SDK conformance: the official `openai` and `@anthropic-ai/sdk` clients
// against a running gateway (started by tests/sdk/run.py), through both
// inbound APIs (POST /v1/chat/completions and POST /v1/messages), on every
// chain named in BACKSTOP_SDK_MODELS (one per upstream format).  SDK
// retries are off, so a pass is the gateway's doing, not a retry's.
//
// Usage: BACKSTOP_SDK_BASE=http://127.0.0.1:PORT BACKSTOP_SDK_MODELS=a,b node conformance.mjs
// Prints one line per case and "sdk: N passed, M failed"; exits 1 on any failure.
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const base = process.env.BACKSTOP_SDK_BASE;
const models = (process.env.BACKSTOP_SDK_MODELS || "").split(",").filter(Boolean);
if (!base || models.length === 0) {
  console.error("conformance.mjs: set BACKSTOP_SDK_BASE and BACKSTOP_SDK_MODELS");
  process.exit(2);
}

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "sk-client", maxRetries: 0, timeout: 20000 });
const anthropic = new Anthropic({ baseURL: base, apiKey: "sk-ant-client", maxRetries: 0, timeout: 20000 });

const oaiTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const antTool = {
  name: "get_weather",
  description: "Current weather",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

// The simulated providers answer "Hello from <sim>. You said: <text>" and,
// after a tool result, "Done from <sim>: <result>".
const hello = (text) => (s) => /^Hello from sim-[ab]\. You said: /.test(s) && s.endsWith(text);
const done = (s) => /^Done from sim-[ab]: 4 C, rain$/.test(s);

const cases = [];
const add = (name, fn) => cases.push({ name, fn });

for (const model of models) {
  // ---- OpenAI SDK, POST /v1/chat/completions ----
  add(`openai ${model} plain`, async () => {
    const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi there" }] });
    expect(r.object === "chat.completion", `object ${r.object}`);
    expect(hello("hi there")(r.choices[0].message.content), `content ${r.choices[0].message.content}`);
    expect(r.choices[0].finish_reason === "stop", `finish ${r.choices[0].finish_reason}`);
    expect(r.usage && r.usage.completion_tokens > 0, "usage");
  });

  add(`openai ${model} stream`, async () => {
    const stream = await openai.chat.completions.create({
      model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream please" }],
    });
    let text = "", finish = null, usage = null;
    const ids = new Set();
    for await (const c of stream) {
      ids.add(c.id);
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        text += ch.delta.content || "";
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    expect(hello("stream please")(text), `text ${text}`);
    expect(finish === "stop" && usage && usage.completion_tokens > 0 && ids.size === 1, "finish/usage/id");
  });

  add(`openai ${model} tool round trip`, async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const r1 = await openai.chat.completions.create({ model, messages, tools: [oaiTool] });
    const call = r1.choices[0].message.tool_calls?.[0];
    expect(r1.choices[0].finish_reason === "tool_calls" && call, "no tool call");
    expect(call.function.name === "get_weather" && JSON.parse(call.function.arguments).city === "x", "call");
    messages.push(r1.choices[0].message, { role: "tool", tool_call_id: call.id, content: "4 C, rain" });
    const r2 = await openai.chat.completions.create({ model, messages, tools: [oaiTool] });
    expect(done(r2.choices[0].message.content), `answer ${r2.choices[0].message.content}`);
  });

  add(`openai ${model} streamed tool round trip`, async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const runner = openai.chat.completions.stream({ model, messages, tools: [oaiTool] });
    const m1 = (await runner.finalChatCompletion()).choices[0];
    const call = m1.message.tool_calls?.[0];
    expect(m1.finish_reason === "tool_calls" && call && JSON.parse(call.function.arguments).city === "x", "call");
    messages.push(m1.message, { role: "tool", tool_call_id: call.id, content: "4 C, rain" });
    const r2 = await openai.chat.completions.stream({ model, messages, tools: [oaiTool] }).finalContent();
    expect(done(r2), `answer ${r2}`);
  });

  // ---- Anthropic SDK, POST /v1/messages ----
  add(`anthropic ${model} plain`, async () => {
    const m = await anthropic.messages.create({
      model, max_tokens: 256, system: "Be terse.", messages: [{ role: "user", content: "hi there" }],
    });
    expect(m.type === "message" && m.role === "assistant" && m.model === model, "message shape");
    expect(m.content[0].type === "text" && hello("hi there")(m.content[0].text), `content ${JSON.stringify(m.content)}`);
    expect(m.stop_reason === "end_turn" && m.usage.output_tokens > 0, "stop/usage");
  });

  add(`anthropic ${model} stream`, async () => {
    const stream = anthropic.messages.stream({
      model, max_tokens: 256, messages: [{ role: "user", content: "stream please" }],
    });
    let deltas = "";
    stream.on("text", (t) => { deltas += t; });
    const m = await stream.finalMessage();
    expect(hello("stream please")(deltas) && m.content[0].text === deltas, `text ${deltas}`);
    expect(m.stop_reason === "end_turn" && m.usage.output_tokens > 0, "stop/usage");
  });

  add(`anthropic ${model} tool round trip`, async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const m1 = await anthropic.messages.create({ model, max_tokens: 256, messages, tools: [antTool] });
    const use = m1.content.find((b) => b.type === "tool_use");
    expect(m1.stop_reason === "tool_use" && use && use.name === "get_weather" && use.input.city === "x", "tool_use");
    messages.push({ role: "assistant", content: m1.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "4 C, rain" }] });
    const m2 = await anthropic.messages.create({ model, max_tokens: 256, messages, tools: [antTool] });
    expect(done(m2.content[0].text), `answer ${JSON.stringify(m2.content)}`);
  });

  add(`anthropic ${model} streamed tool round trip`, async () => {
    const messages = [{ role: "user", content: "Weather in Oslo?" }];
    const m1 = await anthropic.messages.stream({ model, max_tokens: 256, messages, tools: [antTool] }).finalMessage();
    const use = m1.content.find((b) => b.type === "tool_use");
    expect(m1.stop_reason === "tool_use" && use && use.input.city === "x", `tool_use ${JSON.stringify(m1.content)}`);
    messages.push({ role: "assistant", content: m1.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "4 C, rain" }] });
    const m2 = await anthropic.messages.stream({ model, max_tokens: 256, messages, tools: [antTool] }).finalMessage();
    expect(done(m2.content[0].text), `answer ${JSON.stringify(m2.content)}`);
  });
}

// Errors reach each SDK as its own error class.
add("openai unknown model is NotFoundError", async () => {
  try {
    await openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  } catch (e) {
    expect(e instanceof OpenAI.NotFoundError && e.status === 404, `got ${e}`);
    return;
  }
  throw new Error("no error");
});

add("anthropic unknown model is NotFoundError", async () => {
  try {
    await anthropic.messages.create({ model: "no-such-model", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
  } catch (e) {
    expect(e instanceof Anthropic.NotFoundError && e.status === 404 && e.error?.type === "error", `got ${e}`);
    return;
  }
  throw new Error("no error");
});

let passed = 0, failed = 0;
for (const c of cases) {
  try {
    await c.fn();
    passed++;
    console.log(`ok   ${c.name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${c.name}: ${e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e}`);
  }
}
console.log(`sdk: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
