"""Bad input gets a clear OpenAI-shaped error, never a crash or a hang."""
import socket

from harness import check, chat_body, request


def error_of(r):
    e = r.json()["error"]
    check(set(e) >= {"message", "type", "code", "param"}, f"error shape: {e}")
    return e


def test_unknown_model(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(model="nope"))
    check(r.status == 404, r.status)
    e = error_of(r)
    check(e["code"] == "model_not_found" and "nope" in e["message"], e)
    check(a.stats()["requests"] == 0, "an unknown model reached the upstream")


def test_malformed_json(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    r = gw.post('{"model": "sim-chat", "messages": [', headers={"Content-Type": "application/json"})
    check(r.status == 400, r.status)
    e = error_of(r)
    check(e["code"] == "invalid_json" and "line" in e["message"], e)
    for body, needle in [("[]", "object"), ('{"messages":[{"role":"user","content":"x"}]}', "model"),
                         ('{"model":"sim-chat"}', "messages"),
                         ('{"model":"sim-chat","messages":[],"stream":true}', "messages"),
                         ('{"model":"sim-chat","messages":[{"role":"user"}],"stream":"yes"}', "stream")]:
        r = gw.post(body, headers={"Content-Type": "application/json"})
        check(r.status == 400 and needle in error_of(r)["message"], (body, r.status, r.body))
    check(a.stats()["requests"] == 0, "bad requests reached the upstream")


def test_body_too_large(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    big = chat_body(text="x" * (1024 * 1024 + 10))
    r = gw.post(big)
    check(r.status == 413, r.status)
    check(error_of(r)["code"] == "request_too_large", r.body)
    # The worker is fine afterwards.
    check(gw.post(chat_body()).status == 200, "gateway unusable after a 413")
    check(a.stats()["requests"] == 1, "the oversized body reached the upstream")


def test_garbage_and_methods(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    s.sendall(b"\x16\x03\x01garbage that is not http\r\n\r\n")
    data = s.recv(4096)
    s.close()
    check(data.startswith(b"HTTP/1.1 400"), data[:80])
    r = request(gw.port, "GET", "/v1/chat/completions")
    check(r.status == 405 and error_of(r)["code"] == "method_not_allowed", r.status)
    r = request(gw.port, "GET", "/v2/nothing")
    check(r.status == 404, r.status)
    check(gw.post(chat_body()).status == 200, "gateway unusable after garbage")


def test_timeout_header_validated(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    r = gw.post(chat_body(), headers={"x-backstop-timeout-ms": "soon"})
    check(r.status == 400 and error_of(r)["code"] == "invalid_timeout", r.body)
