"""Hardening (issue 16, items 9, 13, 14): Host required in HTTP/1.1, process
names, no cores and no same-uid inspection of any process, the admin socket's
mode and peer checks."""
import json
import os
import re
import socket
import subprocess

import harness
from harness import check, chat_body

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# Root without CAP_SYS_PTRACE: the kernel then applies the dumpable flag to
# it as to any same-uid process, so opening /proc/PID/mem tells them apart.
NO_PTRACE = ["setpriv", "--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace"]


def raw(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


def test_missing_host_is_400(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    out = raw(gw.port, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 400 "), out)
    err = json.loads(body)["error"]
    check(err["code"] == "bad_request" and "Host" in err["message"], err)
    out = raw(gw.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 400 "), out)
    # HTTP/1.0 predates Host; with it, 1.1 is served as before.
    check(raw(gw.port, b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 "), "1.0")
    check(raw(gw.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .startswith(b"HTTP/1.1 200 "), "1.1 with Host")
    check(gw.post(chat_body()).status == 200, "chat")


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().rstrip(b"\0").decode()


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def pgrep(*args):
    p = subprocess.run(["pgrep", *args], capture_output=True, text=True)
    return {int(x) for x in p.stdout.split()}


def started_workers(gw):
    """The workers, once each has run its start (it names itself right after
    making itself non-dumpable); the health check waited for one only."""
    workers = harness.wait_for(lambda: len(gw.worker_pids()) == 2 and gw.worker_pids(), 5,
                               what="2 workers")
    for w in workers:
        harness.wait_for(lambda: cmdline(w).startswith("backstopd: "), 5, what=f"title of {w}")
    return workers


def test_process_names(env):
    a = env.sim("sim-a")
    gw = env.gateway(env.config([a]))
    ctr = gw.proc.p.pid
    workers = started_workers(gw)
    check(comm(ctr) == "backstopd", comm(ctr))
    check(cmdline(ctr) == "backstopd: controller", repr(cmdline(ctr)))
    titles = set()
    for w in workers:
        check(comm(w) == "backstopd", comm(w))
        check(re.fullmatch(r"backstopd: worker \d+", cmdline(w)), repr(cmdline(w)))
        titles.add(cmdline(w))
    check(len(titles) == 2, titles)
    check(set(workers) <= pgrep("-f", "backstopd: worker"), (workers, pgrep("-f", "backstopd: worker")))
    check(ctr in pgrep("-f", "backstopd: controller"), "pgrep -f controller")
    check({ctr, *workers} <= pgrep("-x", "backstopd"), "pgrep -x backstopd")
    ps = subprocess.run(["ps", "-o", "args=", "-p", str(workers[0])], capture_output=True, text=True)
    check(ps.stdout.strip().startswith("backstopd: worker "), ps.stdout)
    # A worker replaced after a crash is named too.
    os.kill(workers[0], 9)
    new = harness.wait_for(lambda: (lambda p: len(p) == 2 and workers[0] not in p and p)(gw.worker_pids()),
                           5, what="replacement worker")
    for w in new:
        harness.wait_for(lambda: re.fullmatch(r"backstopd: worker \d+", cmdline(w)), 5,
                         what=f"title of {w}")
        check(comm(w) == "backstopd", comm(w))


def core_limit(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max core file size"):
            return line.split()[4:6]
    return None


def inspectable(pid):
    """Whether a same-uid process without CAP_SYS_PTRACE can read pid's memory-derived files."""
    p = subprocess.run([*NO_PTRACE, "python3", "-c", f"open('/proc/{pid}/mem', 'rb')"],
                       capture_output=True, text=True)
    check(p.returncode == 0 or "PermissionError" in p.stderr, p.stderr)
    return p.returncode == 0


def capped_gateway(env, cfg):
    """A gateway whose processes lack CAP_SYS_PTRACE like the probe: the
    kernel then lets the probe in exactly when the target is dumpable (as
    root with every capability, it would be let in regardless)."""
    wrap = os.path.join(env.dir, "bin")
    os.makedirs(wrap, exist_ok=True)
    real = os.path.join(os.path.abspath(harness.BIN), "backstopd")
    with open(os.path.join(wrap, "backstopd"), "w") as f:
        f.write(f'#!/bin/sh\nexec {" ".join(NO_PTRACE)} {real} "$@"\n')
    os.chmod(os.path.join(wrap, "backstopd"), 0o755)
    saved, harness.BIN = harness.BIN, wrap
    try:
        return env.gateway(cfg)
    finally:
        harness.BIN = saved


def test_no_cores_no_inspection(env):
    a = env.sim("sim-a")
    gw = capped_gateway(env, env.config([a]))
    check(gw.post(chat_body()).status == 200, "serving")
    procs = [gw.proc.p.pid, *started_workers(gw)]
    # The check itself can fail: an ordinary process with the same
    # capabilities is dumpable and the probe opens its memory.
    ref = subprocess.Popen([*NO_PTRACE, "sleep", "30"])
    try:
        harness.wait_for(lambda: comm(ref.pid) == "sleep", 5, what="reference process")
        check(inspectable(ref.pid), "the probe cannot open a dumpable process")
    finally:
        ref.kill()
        ref.wait()
    for pid in procs:
        check(core_limit(pid)[0] == "0", (pid, core_limit(pid)))
        check(not inspectable(pid), f"pid {pid} ({cmdline(pid)}) is dumpable")
    # backstopctl too: reading a key from stdin, it is as exposed as the daemon.
    p = subprocess.Popen([*NO_PTRACE, os.path.join(harness.BIN, "backstopctl"), "-s", "/nonexistent.sock",
                          "keys", "set", "sim-a"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        harness.wait_for(lambda: os.path.exists(f"/proc/{p.pid}/limits") and comm(p.pid) == "backstopctl",
                         5, what="backstopctl running")
        check(p.poll() is None, "backstopctl did not wait for the secret")
        check(core_limit(p.pid)[0] == "0", core_limit(p.pid))
        check(not inspectable(p.pid), "backstopctl is dumpable")
    finally:
        p.kill()
        p.communicate()


def test_core_dumps_on_request(env):
    a = env.sim("sim-a")
    gw = capped_gateway(env, env.config([a], debug={"core_dumps": True}))
    for pid in [gw.proc.p.pid, *started_workers(gw)]:
        check(inspectable(pid), f"pid {pid}: debug.core_dumps did not make it dumpable")
    check("debug.core_dumps is on" in gw.logs(), "not logged")


def check_config(env, cfg):
    path = os.path.join(env.dir, "check.json")
    cfg = dict(cfg, listen="127.0.0.1:0", state_dir="state")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return subprocess.run([os.path.join(harness.BIN, "backstopd"), "-t", "-c", path],
                          capture_output=True, text=True, timeout=10)


def test_config_refuses_other_access(env):
    a = env.sim("sim-a")
    for mode in ("0666", "0664", "0602"):
        p = check_config(env, env.config([a], admin={"mode": mode}))
        check(p.returncode == 1, (mode, p.returncode, p.stderr))
        check(f'$.admin.mode: admin.mode "{mode}" gives "other" access' in p.stderr, p.stderr)
    for mode in ("0600", "0660", "0770"):
        p = check_config(env, env.config([a], admin={"mode": mode}))
        check(p.returncode == 0, (mode, p.stderr))


def ctl_as(argv_prefix, gw, *args):
    return subprocess.run([*argv_prefix, os.path.join(harness.BIN, "backstopctl"), "-s",
                           os.path.join(gw.dir, "admin.sock"), *args],
                          capture_output=True, text=True, timeout=20)


def open_path_to(gw):
    """Lets other users reach the socket file, as a careless operator might."""
    for d in (env_dir := os.path.dirname(gw.dir), gw.dir):
        os.chmod(d, 0o711)
    os.chmod(os.path.join(gw.dir, "admin.sock"), 0o666)
    return env_dir


def test_admin_peer_refused(env):
    a = env.sim("sim-a")
    cfg = env.config([a], admin={"socket": "admin.sock"})
    gw = env.gateway(cfg)
    open_path_to(gw)
    p = ctl_as(NOBODY, gw, "status")
    check(p.returncode != 0, (p.returncode, p.stdout))
    check("forbidden" in p.stderr and "uid 65534 may not use the admin socket" in p.stderr, p.stderr)
    check(re.search(r"admin: refused a connection from uid 65534 gid 65534", gw.logs()), gw.logs())
    # Root is allowed, and the refusal is in the audit log.
    p = ctl_as([], gw, "--json", "audit")
    check(p.returncode == 0, p.stderr)
    recs = json.loads(p.stdout)["audit"]
    check(any(r.get("cmd") == "connect" and r.get("uid") == 65534 and not r.get("ok") for r in recs), recs)


def test_admin_peer_group_allowed(env):
    a = env.sim("sim-a")
    cfg = env.config([a], admin={"socket": "admin.sock", "group": "nogroup", "mode": "0660"})
    gw = env.gateway(cfg)
    open_path_to(gw)
    # nobody's primary group is nogroup: a member.
    p = ctl_as(NOBODY, gw, "status")
    check(p.returncode == 0, (p.returncode, p.stderr))
    # The same uid by a supplementary group only.
    p = ctl_as(["setpriv", "--reuid=65534", "--regid=0", "--groups=65534"], gw, "status")
    check(p.returncode == 0, (p.returncode, p.stderr))
    # And not without it.
    p = ctl_as(["setpriv", "--reuid=65534", "--regid=0", "--clear-groups"], gw, "status")
    check(p.returncode != 0 and "forbidden" in p.stderr, (p.returncode, p.stderr))
