"""Process life: crashes, reload, drain, disconnects, slow clients."""
import json
import os
import signal
import socket
import threading
import time

from harness import check, chat_body, wait_for


def open_stream(port, body, headers=None):
    """Sends a chat request on a raw socket; returns the socket unread."""
    data = json.dumps(body).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n")
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(head.encode() + b"\r\n" + data)
    return s


def read_until(s, needle, limit=1 << 20):
    buf = b""
    while needle not in buf and len(buf) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def test_worker_kill9_replaced(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    for _ in range(4):
        check(gw.post(chat_body()).status == 200, "warm-up")
    pids = wait_for(lambda: len(gw.worker_pids()) == 2 and gw.worker_pids(), 5, what="2 workers")
    # Let the controller hear that they served (status goes out on the first request).
    time.sleep(0.2)
    os.kill(pids[0], signal.SIGKILL)
    t0 = time.monotonic()
    new = wait_for(lambda: (lambda p: len(p) == 2 and pids[0] not in p and p)(gw.worker_pids()),
                   5, interval=0.005, what="replacement worker")
    took = time.monotonic() - t0
    check(took < 2.0, f"replacement took {took:.3f}s")
    for _ in range(10):
        check(gw.post(chat_body()).status == 200, "serving after the kill")
    check("killed by signal 9" in gw.logs(), "the crash was not logged")
    check(set(new) != set(pids), new)


def test_sighup_bad_then_good(env):
    a = env.sim("sim-a")
    b = env.sim("sim-b")
    gw = env.gateway(env.config([a]))
    check(gw.post(chat_body()).json()["choices"][0]["message"]["content"].startswith("Hello from sim-a"), "a first")
    # A stream in flight across both reloads must not fail.
    a.fault("chunk_delay_ms=150;count=1")
    s = open_stream(gw.port, chat_body(stream=True))
    first = read_until(s, b"data:")
    check(b"200 OK" in first, first[:100])
    good = dict(gw.config)
    with open(gw.config_path, "w") as f:
        f.write('{"listen": 5,')
    gw.proc.send(signal.SIGHUP)
    wait_for(lambda: "reload rejected" in gw.logs(), 5, what="rejection logged")
    check(gw.post(chat_body()).status == 200, "old config stopped serving")
    cfg = env.config([a, b], models={"sim-chat": {"targets": [{"provider": "sim-b", "model": "bb"}]},
                                     "new-model": {"targets": [{"provider": "sim-a", "model": "aa"}]}})
    for k in ("listen", "state_dir", "workers", "log"):
        cfg[k] = good[k]
    with open(gw.config_path, "w") as f:
        json.dump(cfg, f)
    gw.proc.send(signal.SIGHUP)
    wait_for(lambda: "generation 2 published" in gw.logs(), 5, what="reload")
    r = gw.post(chat_body())
    check(r.status == 200 and r.header("x-backstop-provider") == "sim-b", (r.status, r.headers))
    ids = [m["id"] for m in gw.get("/v1/models").json()["data"]]
    check("new-model" in ids, ids)
    rest = read_until(s, b"data: [DONE]")
    s.close()
    check(b"data: [DONE]" in rest, "the stream in flight was broken by the reloads")


def test_sigterm_drains_stream(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    a.fault("chunk_delay_ms=100")
    s = open_stream(gw.port, chat_body(stream=True))
    check(b"data:" in read_until(s, b"data:"), "stream did not start")
    gw.proc.send(signal.SIGTERM)
    rest = read_until(s, b"data: [DONE]")
    s.close()
    check(b"data: [DONE]" in rest, "the stream was cut by the drain")
    rc = gw.proc.p.wait(20)
    check(rc == 0, f"exit code {rc}")
    # No new connections once draining is over.
    try:
        socket.create_connection(("127.0.0.1", gw.port), timeout=2).close()
        accepted = True
    except OSError:
        accepted = False
    check(not accepted, "still accepting after exit")


def test_client_disconnect_cancels_upstream(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    a.fault("chunk_delay_ms=100;count=1")
    s = open_stream(gw.port, chat_body(stream=True))
    check(b"data:" in read_until(s, b"data:"), "stream did not start")
    s.close()
    wait_for(lambda: a.stats()["cancelled"] == 1, 5, what="upstream cancellation")
    line = wait_for(lambda: [l for l in gw.access() if l["status"] == 499], 5, what="499 log line")
    check(line[0]["error"] == "cancelled", line)
    check(gw.post(chat_body()).status == 200, "worker unusable after the disconnect")


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_slow_client_pauses_upstream(env):
    a = env.sim("sim-a")
    # Under ASan, freed memory waits in a quarantine (256 MB by default) and
    # would count as growth: keep it small for this measurement.
    env.proc_env["ASAN_OPTIONS"] = env.proc_env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    gw = env.gateway(env.config([a], workers=1))
    pid = wait_for(lambda: gw.worker_pids(), 5, what="worker")[0]
    # A ~30 MB stream that the client does not read for a while: the worker
    # must pause the upstream instead of buffering the answer.
    a.fault("words=200000;count=1")
    before = rss_kb(pid)
    s = open_stream(gw.port, chat_body(stream=True))
    check(b"data:" in read_until(s, b"data:"), "stream did not start")
    time.sleep(1.5)
    grown = rss_kb(pid) - before
    check(grown < 8 * 1024, f"worker grew by {grown} KiB while the client was not reading")
    total = 0
    buf = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        buf = (buf + chunk)[-64:]
        if b"data: [DONE]" in buf:
            break
    s.close()
    check(total > 10 * 1024 * 1024, f"only {total} bytes arrived")
    check(b"data: [DONE]" in buf, "the stream did not complete")
    check(gw.post(chat_body()).status == 200, "worker unusable after the slow client")


def test_sigusr1_reopens_logs(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    check(gw.post(chat_body()).status == 200, "first")
    wait_for(lambda: gw.access(), 5, what="access line")
    os.rename(gw.access_log, gw.access_log + ".1")
    gw.access_rotated()
    os.rename(gw.log_path, gw.log_path + ".1")
    gw.proc.send(signal.SIGUSR1)
    wait_for(lambda: "logs reopened" in open(gw.log_path).read() if os.path.exists(gw.log_path) else False,
             5, what="new daemon log")
    # Every worker has reopened once its signal was handled; a few requests
    # reach both workers.
    time.sleep(0.2)
    for _ in range(6):
        check(gw.post(chat_body()).status == 200, "after reopen")
    lines = wait_for(lambda: len(gw.access()) >= 6 and gw.access(), 5, what="lines in the new access log")
    check(len(lines) == 6, f"{len(lines)} lines in the new file")


def test_early_crash_is_throttled(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a], workers=1))
    # The first worker answered the harness's health check: replaced at once.
    first = wait_for(lambda: gw.worker_pids(), 5, what="a worker")[0]
    os.kill(first, signal.SIGKILL)
    # One read of the pids per try: between two reads the list may empty.
    wait_for(lambda: (lambda pids: pids and pids[0] != first)(gw.worker_pids()), 5, what="restart")
    check("restarting it now" in gw.logs(), "a worker that served was not restarted at once")
    # Killed before serving anything, twice: the restarts back off.
    for expect_ms in (250, 500):
        pid = wait_for(lambda: gw.worker_pids(), 5, what="a worker")[0]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: f"before serving a request; restarting it in {expect_ms} ms" in gw.logs(), 5,
                 what=f"{expect_ms} ms back-off")
        wait_for(lambda: gw.worker_pids() and gw.worker_pids()[0] != pid, 5, what="restart")
    check(gw.post(chat_body()).status == 200, "serving after the restarts")


def test_controller_death_leaves_no_orphan(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    a.fault("chunk_delay_ms=100;count=1")
    s = open_stream(gw.port, chat_body(stream=True))
    check(b"data:" in read_until(s, b"data:"), "stream did not start")
    workers = gw.worker_pids()
    check(len(workers) == 2, workers)
    os.kill(gw.proc.p.pid, signal.SIGKILL)
    gw.proc.p.wait(5)
    gw.expected_rc = -signal.SIGKILL
    # The stream in flight still completes ...
    check(b"data: [DONE]" in read_until(s, b"data: [DONE]"), "in-flight stream lost with the controller")
    s.close()

    # ... and then the workers leave.
    def gone():
        return all(not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z"
                   for p in workers)
    wait_for(gone, 10, what="workers to exit")
    # A new controller takes the port and state over.
    gw2 = env.gateway(gw.config, name="gw")
    check(gw2.post(chat_body()).status == 200, "restarted controller does not serve")
