-- wrk script for the Backstop benchmark: posts a realistic OpenAI chat
-- request (system + user message, temperature, max_tokens; ~500 bytes) and,
-- when wrk is done, prints one machine-readable line that bench.py parses:
--   BENCHJSON {"requests":N,...,"p50_us":...,"p99_us":...}
--
-- Environment:
--   BENCH_MODEL   the "model" field (default "bench-chat")
--   BENCH_STREAM  "1" adds "stream":true
--   BENCH_PATH    request path (default /v1/chat/completions)
--   BENCH_TOOLS   "1" offers one tool with tool_choice "required" (an answer
--                 contract: docs/design.md, "Answer contracts and repair")
--   BENCH_MAX_REQUESTS  when set, each thread stops after that many responses
--                 (-d is then only a cap); the failover runs use it so a run
--                 stays below the breakers' consecutive-failure threshold

local model = os.getenv("BENCH_MODEL") or "bench-chat"
local stream = os.getenv("BENCH_STREAM") == "1"
local tools = os.getenv("BENCH_TOOLS") == "1"

local system = "You are a concise support assistant for an online hardware store. " ..
    "Answer in plain English, quote the order number when the customer gives one, " ..
    "and never invent delivery dates."
local user = "Hi, order #48213 was marked as delivered yesterday but nothing arrived. " ..
    "The tracking page shows a photo of a door that is not mine. What should I do next, " ..
    "and can you open a claim for me?"

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key"
wrk.body = '{"model":"' .. model .. '","messages":[' ..
    '{"role":"system","content":"' .. system .. '"},' ..
    '{"role":"user","content":"' .. user .. '"}],' ..
    '"temperature":0.2,"max_tokens":256,"user":"bench-7"' ..
    (stream and ',"stream":true' or '') ..
    (tools and (',"tools":[{"type":"function","function":{"name":"open_claim",' ..
        '"parameters":{"type":"object","properties":{"order":{"type":"string"},' ..
        '"reason":{"type":"string","enum":["not_delivered","damaged"]}},' ..
        '"required":["order","reason"],"additionalProperties":false}}}],"tool_choice":"required"')
        or '') .. '}'

local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0
if max_requests > 0 then
    local n = 0
    function response(status, headers, body)
        n = n + 1
        if n >= max_requests then
            wrk.thread:stop()
        end
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCHJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
        '"err_connect":%.0f,"err_read":%.0f,"err_write":%.0f,"err_status":%.0f,"err_timeout":%.0f,' ..
        '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f,"body_bytes":%d}\n',
        summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.mean, latency.max, #wrk.body))
end
