#!/usr/bin/env python3
"""Backstop benchmark harness (issue 7): measurement only, Python 3 stdlib.

Started by tests/bench/run.sh (which installs wrk and nginx and raises the fd
limit); everything runs on 127.0.0.1 with ephemeral ports, inside WORKDIR.

  A direct        wrk -> simprov (zero latency; the floor)
  B nginx         wrk -> nginx (1 worker, upstream keepalive, no access log) -> simprov
  C backstop-1w   wrk -> backstopd, 1 worker -> simprov
  D backstop-2w   wrk -> backstopd, 2 workers -> simprov

Workloads, interleaved per rep (A/B/C/D, rotated each rep), medians over reps:
  saturated  64 connections, 2 threads
  unloaded   1 connection
  stream64   streamed answer of ~50 chunks, 64 connections
  stream1    streamed answer of ~50 chunks, 1 connection

Then failover cost (1 connection; first target refused / 503 / hanging past
first_token_ms, each against the plain chain; and, when the build has
breakers, a refusing target behind an open breaker), breaker propagation
across workers (n/a: not measurable yet), and gateway memory with N idle
streams held open.  docs/benchmarks.md explains every figure.

Prints progress on stderr, the table on stdout, and writes
tests/bench/results/bench-<UTC timestamp>.json.  `--profile` instead runs
one 64-connection load against a 1-worker gateway under perf, strace -c and
callgrind, and writes tests/bench/results/profile-*.txt.
"""
import argparse
import http.client
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LUA = os.path.join(HERE, "chat.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")
T0 = time.monotonic()

TARGETS = ["direct", "nginx", "backstop-1w", "backstop-2w"]
GATEWAY_TARGETS = ["nginx", "backstop-1w", "backstop-2w"]
FAILOVER_CHAINS = ["plain", "refused", "503", "hang"]
FIRST_TOKEN_MS = 200


class BenchError(Exception):
    pass


def progress(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def wait_for(pred, timeout, what, interval=0.02):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise BenchError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def http_req(port, method, path, body=None, headers=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- /proc

def proc_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = read_text(f"/proc/{d}/stat")
        if not st:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            out.append(int(d))
    return sorted(out)


def cpu_ticks(pid):
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    st = read_text(f"/proc/{pid}/stat")
    if not st:
        return 0
    rest = st[st.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def status_kb(pid, key):
    for line in read_text(f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def nfds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


# ---------------------------------------------------------------- processes

class Procs:
    """Every process this run starts; each pid is also appended to WORKDIR/pids
    so run.sh's EXIT trap can stop what a crashed run left behind."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.live = []

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.workdir, f"{name}.out"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True, cwd=self.workdir)
        log.close()
        p.bench_name = name
        self.live.append(p)
        self._write_pids()
        return p

    def stop(self, p, timeout=10.0, sig=signal.SIGTERM):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)   # its own session: it and its workers
                except ProcessLookupError:
                    pass
                p.wait(5)
        if p in self.live:
            self.live.remove(p)
            self._write_pids()
        return p.returncode

    def _write_pids(self):
        path = os.path.join(self.workdir, "pids")
        with open(path + ".tmp", "w") as f:
            f.writelines(f"{q.pid} {q.bench_name}\n" for q in self.live)
        os.replace(path + ".tmp", path)

    def stop_all(self):
        for p in reversed(list(self.live)):
            self.stop(p)


class Sim:
    def __init__(self, procs, bin_dir, name, fault=None):
        self.name = name
        port_file = os.path.join(procs.workdir, f"{name}.port")
        argv = [os.path.join(bin_dir, "simprov"), "--listen", "127.0.0.1:0", "--name", name,
                "--model-version", f"{name}-v1", "--port-file", port_file]
        if fault:
            argv += ["--fault", fault]
        self.proc = procs.start(f"sim-{name}", argv)
        self.port = int(wait_for(lambda: read_text(port_file).strip(), 10, f"simprov {name}"))
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def pids(self):
        return [self.proc.pid]

    def stats(self):
        st, _, body = http_req(self.port, "GET", "/_sim/stats")
        return json.loads(body) if st == 200 else {}


class Nginx:
    """nginx as a plain reverse proxy to one upstream: one worker, upstream
    keepalive, access log off, own prefix under WORKDIR, current user.  Two
    listeners: the default (buffered) one for plain answers and one with
    proxy_buffering off for streams, as an SSE deployment would have."""

    def __init__(self, procs, upstream_port):
        self.procs = procs
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        prefix = os.path.join(procs.workdir, "nginx")
        for d in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        user = ""
        if os.geteuid() == 0:   # else nginx keeps the current user by itself
            user = "user root root;"
        last = None
        for _ in range(5):        # free_port() can race with another process
            self.port, self.stream_port = free_port(), free_port()
            if self.port == self.stream_port:
                continue
            conf = f"""{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    upstream sim {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{self.stream_port};
        location / {{
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""
            self.conf = os.path.join(prefix, "nginx.conf")
            with open(self.conf, "w") as f:
                f.write(conf)
            self.proc = procs.start("nginx", [exe, "-p", prefix, "-c", self.conf,
                                              "-e", os.path.join(prefix, "logs/error.log")])
            try:
                wait_for(lambda: self.proc.poll() is not None or self._up(), 10, "nginx")
            except BenchError as e:
                last = e
            if self.proc.poll() is None and self._up():
                self.workers = wait_for(lambda: proc_children(self.proc.pid), 5, "nginx worker")
                return
            procs.stop(self.proc)
            last = last or BenchError("nginx exited: " + read_text(os.path.join(prefix, "logs/error.log"))[-800:])
        raise last

    def _up(self):
        try:
            return all(http_req(p, "GET", "/healthz", timeout=2)[0] == 200
                       for p in (self.port, self.stream_port))
        except OSError:
            return False

    def pids(self):
        return [self.proc.pid] + proc_children(self.proc.pid)


class Gateway:
    """backstopd with a generated config, as tests/integration/harness.py does."""

    def __init__(self, procs, bin_dir, name, config, wrap=None):
        self.name = name
        self.dir = os.path.join(procs.workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        cfg = dict(config)
        cfg.setdefault("listen", "127.0.0.1:0")
        cfg.setdefault("state_dir", "state")
        log = dict(cfg.get("log", {}))
        log.setdefault("file", "daemon.log")
        log.setdefault("access_log", "/dev/null")   # formatted and written, not stored
        log.setdefault("level", "warning")
        cfg["log"] = log
        self.config = cfg
        self.config_path = os.path.join(self.dir, "backstop.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        listen_file = os.path.join(self.dir, "state", "listen")
        argv = (wrap or []) + [os.path.join(bin_dir, "backstopd"), "-c", self.config_path]
        self.proc = procs.start(f"gw-{name}", argv)
        boot = 120 if wrap else 15
        addr = wait_for(lambda: read_text(listen_file).strip() or self.proc.poll() is not None,
                        boot, f"{name} listen file")
        if addr is True:
            raise BenchError(f"backstopd {name} exited at start:\n{self.logs()}")
        self.port = int(addr.rsplit(":", 1)[1])
        n = cfg.get("workers", 1)
        wait_for(lambda: len(self.worker_pids()) >= n, boot, f"{name} workers")
        wait_for(self._healthy, boot, f"{name} health")

    def _healthy(self):
        try:
            return http_req(self.port, "GET", "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def worker_pids(self):
        return proc_children(self.proc.pid)

    def pids(self):
        return [self.proc.pid] + self.worker_pids()

    def logs(self):
        return (read_text(os.path.join(self.dir, "daemon.log"))[-3000:] +
                read_text(os.path.join(os.path.dirname(self.dir), f"gw-{self.name}.out"))[-2000:])


def gw_config(providers, models, workers, **extra):
    cfg = {
        "workers": workers,
        "providers": {name: {"type": "openai-compatible", "base_url": url}
                      for name, url in providers.items()},
        "models": {name: {"targets": [{"provider": p, "model": m} for p, m in chain]}
                   for name, chain in models.items()},
        "timeouts": {"connect_ms": 1000, "first_token_ms": 5000, "idle_stream_ms": 5000,
                     "request_ms": 20000, "drain_grace_ms": 1000},
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


# ---------------------------------------------------------------- wrk

def sched_ns(pid):
    """Time on CPU in ns from /proc/PID/schedstat (finer than stat's ticks)."""
    try:
        return int(read_text(f"/proc/{pid}/schedstat").split()[0])
    except (IndexError, ValueError):
        return 0


def run_wrk(url, threads, conns, seconds, model="bench-chat", stream=False, pids=(), up_pids=(),
            max_requests=0):
    """One wrk run; returns its figures plus the CPU the given processes used."""
    env = dict(os.environ, BENCH_MODEL=model, BENCH_STREAM="1" if stream else "0",
               BENCH_MAX_REQUESTS=str(max_requests))
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s",
            "-s", LUA, url]
    pids, up_pids = list(pids), list(up_pids)
    c0 = {p: cpu_ticks(p) for p in pids}
    s0 = sum(sched_ns(p) for p in pids)
    u0 = sum(cpu_ticks(p) for p in up_pids)
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60)
    s1 = sum(sched_ns(p) for p in pids)
    c1 = {p: cpu_ticks(p) for p in pids}
    u1 = sum(cpu_ticks(p) for p in up_pids)
    m = re.search(r"^BENCHJSON (\{.*\})$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise BenchError(f"wrk failed ({r.returncode}): {r.stdout[-500:]} {r.stderr[-500:]}")
    res = json.loads(m.group(1))
    n = max(res["requests"], 1)
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    res["errors"] = sum(res[k] for k in ("err_connect", "err_read", "err_write", "err_status",
                                         "err_timeout"))
    if pids:
        gone = [p for p in pids if c1[p] == 0]
        res["cpu_us_per_req"] = sum(c1[p] - c0[p] for p in pids) * 1e6 / CLK_TCK / n
        res["cpu_us_per_req_schedstat"] = (s1 - s0) / 1e3 / n
        # first pid: backstopd controller / nginx master; then workers
        res["cpu_us_per_req_by_process"] = [(c1[p] - c0[p]) * 1e6 / CLK_TCK / n for p in pids]
        res["cpu_pids"] = pids
        if gone:
            res["cpu_warning"] = f"processes gone during the run: {gone}"
    if up_pids:
        res["upstream_cpu_us_per_req"] = (u1 - u0) * 1e6 / CLK_TCK / n
    return res


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- phases

def workloads(args):
    return [
        # name, threads, connections, seconds, stream
        ("saturated", 2, 64, args.sat_seconds, False),
        ("unloaded", 1, 1, args.lat_seconds, False),
        ("stream64", 2, 64, args.stream_seconds, True),
        ("stream1", 1, 1, args.lat_seconds, True),
    ]


def phase_main(args, procs, up):
    progress(f"starting nginx, backstopd 1w and 2w (simprov zero latency, chunks=50 for streams) "
             f"in {args.workdir}")
    ngx = Nginx(procs, up.port)
    models = {"bench-chat": [("up", "up-v1")]}
    gw1 = Gateway(procs, args.bin, "bench-1w", gw_config({"up": up.url}, models, 1))
    gw2 = Gateway(procs, args.bin, "bench-2w", gw_config({"up": up.url}, models, 2))
    u = "/v1/chat/completions"
    targets = {
        "direct": {"url": f"http://127.0.0.1:{up.port}{u}", "url_stream": f"http://127.0.0.1:{up.port}{u}",
                   "pids": lambda: []},
        "nginx": {"url": f"http://127.0.0.1:{ngx.port}{u}",
                  "url_stream": f"http://127.0.0.1:{ngx.stream_port}{u}", "pids": ngx.pids},
        "backstop-1w": {"url": f"http://127.0.0.1:{gw1.port}{u}",
                        "url_stream": f"http://127.0.0.1:{gw1.port}{u}", "pids": gw1.pids},
        "backstop-2w": {"url": f"http://127.0.0.1:{gw2.port}{u}",
                        "url_stream": f"http://127.0.0.1:{gw2.port}{u}", "pids": gw2.pids},
    }
    # every path must answer a stream of ~50 chunks before it is timed
    for t, tg in targets.items():
        port = int(tg["url_stream"].split(":")[2].split("/")[0])
        st, _, body = http_req(port, "POST", u, {"model": "bench-chat", "stream": True, "messages": [
            {"role": "user", "content": "Hi, order #48213 was marked as delivered yesterday"}]})
        events = body.count(b"data:")
        if st != 200 or events < 50:
            raise BenchError(f"{t}: stream check got status {st}, {events} events")
    progress(f"stream check: {events} SSE events per streamed answer on every path")
    runs, summary, peak = phase_matrix(args, procs, up, targets)
    for g in (gw1, gw2):
        procs.stop(g.proc)
    procs.stop(ngx.proc)
    return {"summary": summary, "peak": peak, "runs": runs}


def phase_matrix(args, procs, up, targets):
    wls = workloads(args)
    runs = []
    progress("warm-up: 1 s per target and workload kind")
    for t in TARGETS:
        for stream in (False, True):
            run_wrk(targets[t]["url_stream" if stream else "url"], 2, 64, 1, stream=stream)
    total = args.reps * len(wls) * len(TARGETS)
    i = 0
    for rep in range(args.reps):
        order = TARGETS[rep % len(TARGETS):] + TARGETS[:rep % len(TARGETS)]
        for wl, threads, conns, secs, stream in wls:
            for t in order:
                i += 1
                tg = targets[t]
                res = run_wrk(tg["url_stream" if stream else "url"], threads, conns, secs,
                              stream=stream, pids=tg["pids"](), up_pids=up.pids())
                res.update(rep=rep, workload=wl, target=t, threads=threads, connections=conns,
                           seconds=secs, stream=stream)
                runs.append(res)
                err = f", {res['errors']} ERRORS" if res["errors"] else ""
                cpu = (f", {res['cpu_us_per_req']:.1f} us/req CPU" if "cpu_us_per_req" in res else "")
                progress(f"run {i}/{total} rep {rep + 1} {wl:9s} {t:12s} {res['rps']:9.0f} req/s "
                         f"p50 {res['p50_us'] / 1000:.3f} ms p99 {res['p99_us'] / 1000:.3f} ms{cpu}{err}")
    peak = {}
    for t in TARGETS:
        pids = targets[t]["pids"]() if t != "direct" else up.pids()
        peak[t] = {"peak_rss_kib": sum(status_kb(p, "VmHWM") for p in pids),
                   "rss_kib": sum(status_kb(p, "VmRSS") for p in pids),
                   "processes": len(pids),
                   "what": "simprov (the upstream)" if t == "direct" else "gateway processes"}
    summary = {}
    for wl, *_ in wls:
        rows = {}
        for t in TARGETS:
            rs = [r for r in runs if r["workload"] == wl and r["target"] == t]
            rows[t] = {
                "rps": med(r["rps"] for r in rs),
                "p50_ms": med(r["p50_us"] / 1000 for r in rs),
                "p99_ms": med(r["p99_us"] / 1000 for r in rs),
                "cpu_us_per_req": med(r.get("cpu_us_per_req") for r in rs),
                "cpu_us_per_req_controller": med(r["cpu_us_per_req_by_process"][0] for r in rs
                                                 if r.get("cpu_us_per_req_by_process")),
                "upstream_cpu_us_per_req": med(r.get("upstream_cpu_us_per_req") for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "requests": sum(r["requests"] for r in rs),
            }
        d = rows["direct"]
        for t in TARGETS:
            rows[t]["added_p50_ms"] = rows[t]["p50_ms"] - d["p50_ms"]
            rows[t]["added_p99_ms"] = rows[t]["p99_ms"] - d["p99_ms"]
            # per-rep paired differences, a check on drift between reps
            pairs = []
            for rep in range(args.reps):
                a = [r for r in runs if r["workload"] == wl and r["target"] == t and r["rep"] == rep]
                b = [r for r in runs if r["workload"] == wl and r["target"] == "direct" and r["rep"] == rep]
                if a and b:
                    pairs.append((a[0]["p50_us"] - b[0]["p50_us"]) / 1000)
            rows[t]["added_p50_ms_paired_median"] = med(pairs)
        summary[wl] = rows
    return runs, summary, peak


def config_ok(bin_dir, workdir, cfg):
    """True when this build's `backstopd -t` accepts the config (used to find
    out whether keys from newer work, such as "breaker", exist yet)."""
    c = dict(cfg)
    c.setdefault("listen", "127.0.0.1:0")
    c.setdefault("state_dir", "state-check")
    path = os.path.join(workdir, "check.json")
    with open(path, "w") as f:
        json.dump(c, f)
    r = subprocess.run([os.path.join(bin_dir, "backstopd"), "-t", "-c", path],
                       capture_output=True, text=True, timeout=20)
    return r.returncode == 0


class AccessTail:
    """Reads the access-log lines written since the last call."""

    def __init__(self, path):
        self.path, self.off = path, 0

    def take(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return []
        cut = data.rfind(b"\n") + 1
        self.off += cut
        out = []
        for line in data[:cut].splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def attempt_mix(lines):
    """{"attempts=N first=REASON": count} over access-log lines."""
    mix = {}
    for e in lines:
        fo = e.get("failover") or ""
        first = fo.split(",")[0].split("=")[-1] if fo else "-"
        k = f"status={e.get('status')} attempts={e.get('attempts')} first={first}"
        mix[k] = mix.get(k, 0) + 1
    return mix


def measure_chains(args, gw, tail, chains, label):
    """Interleaved 1-connection runs of each chain (rotated per rep); medians."""
    url = f"http://127.0.0.1:{gw.port}/v1/chat/completions"
    for ch in chains:   # warm-up
        run_wrk(url, 1, 1, 1, model=f"fo-{ch}", max_requests=50)
    tail.take()
    runs = []
    for rep in range(args.reps):
        k = rep % len(chains)
        for ch in chains[k:] + chains[:k]:
            # wrk runs for -d whatever: 1 s holds the request budget except
            # for the hanging target, which takes first_token_ms a request
            secs = args.fo_seconds if ch == "hang" else 1
            res = run_wrk(url, 1, 1, secs, model=f"fo-{ch}", pids=gw.pids(),
                          max_requests=args.fo_requests)
            res.update(rep=rep, chain=ch, attempts=attempt_mix(tail.take()))
            runs.append(res)
            progress(f"{label} rep {rep + 1} {ch:8s} {res['requests']:6d} req "
                     f"p50 {res['p50_us'] / 1000:.3f} ms p99 {res['p99_us'] / 1000:.3f} ms  "
                     f"{res['attempts']}" + (f", {res['errors']} ERRORS" if res["errors"] else ""))
    summary = {}
    for ch in chains:
        rs = [r for r in runs if r["chain"] == ch]
        mix = {}
        for r in rs:
            for key, v in r["attempts"].items():
                mix[key] = mix.get(key, 0) + v
        summary[ch] = {"p50_ms": med(r["p50_us"] / 1000 for r in rs),
                       "p99_ms": med(r["p99_us"] / 1000 for r in rs),
                       "cpu_us_per_req": med(r.get("cpu_us_per_req_schedstat") for r in rs),
                       "requests": sum(r["requests"] for r in rs),
                       "errors": sum(r["errors"] for r in rs), "access_log_mix": mix}
    base = summary["plain"]
    for ch in chains:
        summary[ch]["added_p50_ms"] = summary[ch]["p50_ms"] - base["p50_ms"]
        summary[ch]["added_p99_ms"] = summary[ch]["p99_ms"] - base["p99_ms"]
    return summary, runs


def phase_failover(args, procs, up):
    progress("failover: starting a 503 simulator, a hanging simulator and a gateway "
             f"with first_token_ms={FIRST_TOKEN_MS}")
    s503 = Sim(procs, args.bin, "fail503", fault="status=503")
    shang = Sim(procs, args.bin, "hang", fault="hang")
    # a port that refuses: bound (so nobody else takes it) but not listening
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    out = {"first_token_ms": FIRST_TOKEN_MS, "seconds_per_run": args.fo_seconds,
           "gateway": "backstopd, 1 worker; wrk -t1 -c1", "notes": []}
    try:
        providers = {"up": up.url, "dead": f"http://127.0.0.1:{closed_port}/v1",
                     "p503": s503.url, "phang": shang.url}
        models = {
            "fo-plain": [("up", "up-v1")],
            "fo-refused": [("dead", "dead-v1"), ("up", "up-v1")],
            "fo-503": [("p503", "p503-v1"), ("up", "up-v1")],
            "fo-hang": [("phang", "hang-v1"), ("up", "up-v1")],
        }
        cfg = gw_config(providers, models, 1, timeouts={"first_token_ms": FIRST_TOKEN_MS},
                        log={"access_log": "access.log"})
        # Measure the failover itself: a 503 moves on at once instead of being
        # retried with a random back-off (when this build has per-chain actions),
        # no breaker opens and no health probe runs (when this build has them).
        c = json.loads(json.dumps(cfg))
        c["models"]["fo-503"]["on"] = {"server_error": "failover"}
        if config_ok(args.bin, procs.workdir, c):
            cfg = c
            out["notes"].append('fo-503 chain: "on": {"server_error": "failover"} (no retry back-off)')
        c = json.loads(json.dumps(cfg))
        c["breaker"] = {"consecutive_failures": 1000, "min_requests": 100000}
        c["probes"] = {"enabled": False}
        has_breaker = config_ok(args.bin, procs.workdir, c)
        if has_breaker:
            cfg = c
            out["notes"].append(f"breakers kept closed (consecutive_failures 1000, min_requests 100000; "
                                f"{args.fo_requests} requests a run), probes off, so every request "
                                f"really tries the first target (see the access-log column)")
        gw = Gateway(procs, args.bin, "failover", cfg)
        tail = AccessTail(os.path.join(gw.dir, "access.log"))
        expect = {"plain": ("1", None), "refused": ("2", "connect_failed"),
                  "503": ("2", "server_error"), "hang": ("2", "first_token_timeout")}
        checks = {}
        for ch in FAILOVER_CHAINS:
            st, hdr, _ = http_req(gw.port, "POST", "/v1/chat/completions",
                                  {"model": f"fo-{ch}", "messages": [{"role": "user", "content": "hi"}]})
            att, why = expect[ch]
            ok = st == 200 and hdr.get("x-backstop-attempts") == att and \
                (why is None or why in (hdr.get("x-backstop-failover") or ""))
            checks[ch] = {"status": st, "attempts": hdr.get("x-backstop-attempts"),
                          "failover": hdr.get("x-backstop-failover"), "as_expected": ok}
            progress(f"failover check {ch}: {st} attempts={checks[ch]['attempts']} "
                     f"failover={checks[ch]['failover']}{'' if ok else '  (UNEXPECTED)'}")
        out["checks"] = checks
        summary, runs = measure_chains(args, gw, tail, FAILOVER_CHAINS, "failover")
        for key in ("p50", "p99"):
            summary["hang"][f"added_{key}_minus_timeout_ms"] = summary["hang"][f"added_{key}_ms"] - FIRST_TOKEN_MS
        procs.stop(gw.proc)
        out["summary"], out["runs"] = summary, runs

        # A target behind an open breaker, when this build has breakers.
        if has_breaker:
            cfg = gw_config(providers, {"fo-plain": models["fo-plain"], "fo-breaker": models["fo-refused"]},
                            1, log={"access_log": "access.log"})
            cfg["probes"] = {"enabled": False}
            gw = Gateway(procs, args.bin, "breaker", cfg)
            tail = AccessTail(os.path.join(gw.dir, "access.log"))
            opened = False
            for _ in range(50):
                st, hdr, _ = http_req(gw.port, "POST", "/v1/chat/completions",
                                      {"model": "fo-breaker", "messages": [{"role": "user", "content": "hi"}]})
                if st == 200 and "breaker_open" in (hdr.get("x-backstop-failover") or ""):
                    opened = True
                    break
            if opened:
                progress("breaker: open on the refusing target; measuring a chain that skips it")
                bs, bruns = measure_chains(args, gw, tail, ["plain", "breaker"], "breaker")
                out["summary"]["breaker_open"] = bs["breaker"]
                out["summary"]["breaker_open"]["plain_p50_ms_same_gateway"] = bs["plain"]["p50_ms"]
                out["runs"] += bruns
            else:
                out["notes"].append("breaker did not open after 50 refused attempts: not measured")
            procs.stop(gw.proc)
        procs.stop(s503.proc)
        procs.stop(shang.proc)
        return out
    finally:
        closed.close()


def phase_breaker_propagation(args, procs, up):
    """How long a breaker opened by one worker's failure takes to reach every
    worker.  Load runs on 2 workers; a hard failure (401) is then injected at
    the first target; each worker logs when it first sees the controller's
    "open" record and how long after it was published."""
    progress("breaker propagation: 2 workers under load, then a 401 at the first target")
    brk = Sim(procs, args.bin, "brkprop")
    cfg = gw_config({"brk": brk.url, "up": up.url}, {"bench-chat": [("brk", "brk-v1"), ("up", "up-v1")]},
                    2, log={"level": "info"})
    cfg["probes"] = {"enabled": False}
    gw = Gateway(procs, args.bin, "brkprop", cfg)
    env = dict(os.environ, BENCH_MODEL="bench-chat", BENCH_STREAM="0", BENCH_MAX_REQUESTS="0")
    wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d4s", "-s", LUA, f"http://127.0.0.1:{gw.port}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        time.sleep(1.5)
        http_req(brk.port, "POST", "/_sim/fault", "status=401", {"Content-Type": "text/plain"})
        wrk.wait(timeout=30)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    log = read_text(os.path.join(gw.dir, "daemon.log"))
    seen = {}
    for m in re.finditer(r"worker(\d+) info: breaker brk/brk-v1 open seen (\d+) ms after it was published",
                         log):
        seen.setdefault(int(m.group(1)), int(m.group(2)))
    procs.stop(gw.proc)
    procs.stop(brk.proc)
    if len(seen) < 2:
        return {"note": f"not measured: {len(seen)} worker(s) reported the open breaker"}
    return {"per_worker_ms": seen, "max_ms": max(seen.values()),
            "note": "wall-clock ms from the controller's publish to each worker's first request "
                    "that read it (16 connections of load)"}


def stream_request(model):
    body = json.dumps({"model": model, "stream": True, "max_tokens": 256, "temperature": 0.2,
                       "messages": [{"role": "system", "content": "You are terse."},
                                    {"role": "user", "content": "Keep this stream open."}]})
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()


def gw_rss(gw):
    return sum(status_kb(p, "VmRSS") for p in gw.pids())


def phase_idle_streams(args, procs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.streams
    # this process and simprov need one fd per stream; each gateway worker two
    # per stream it holds (client + upstream), so 2 workers share that load.
    n = min(want, soft - 200)
    why = None
    if n < want:
        why = f"RLIMIT_NOFILE is {soft} (hard {hard}): the client and simprov hold one fd per stream"
    workers = 2
    progress(f"idle streams: opening {n} streams (fd limit {soft}) against a {workers}-worker gateway")
    # The role chunk and the first content go out at once, then the answer
    # pauses: a stream commits to the client on its first content.
    sim = Sim(procs, args.bin, "idle", fault="chunk_delay_ms=3600000;delay_after=2")
    gw = Gateway(procs, args.bin, "idle", gw_config(
        {"idle": sim.url}, {"bench-idle": [("idle", "idle-v1")]}, workers,
        limits={"max_connections": 1000000},
        timeouts={"first_token_ms": 30000, "idle_stream_ms": 3600000, "request_ms": 3600000}))
    # warm the workers with plain requests (chunk_delay_ms is ignored for them)
    for _ in range(50):
        http_req(gw.port, "POST", "/v1/chat/completions",
                 {"model": "bench-idle", "messages": [{"role": "user", "content": "warm"}]})
    time.sleep(0.3)
    base = {p: status_kb(p, "VmRSS") for p in gw.pids()}
    base_total = sum(base.values())
    sim_base = status_kb(sim.proc.pid, "VmRSS")
    req = stream_request("bench-idle")
    sel = selectors.DefaultSelector()
    socks, got, refused = [], set(), set()
    t_open = time.monotonic()
    deadline = t_open + args.streams_budget

    def drain(timeout):
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                refused.add(s.fileno())
                continue
            if data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 200"):
                # an error answer (a failed upstream connect, say), not a
                # stream: counted, and out of the window
                sel.unregister(s)
                refused.add(s.fileno())
                continue
            if b"data:" in data:
                got.add(s.fileno())
            if s.fileno() in got:
                sel.unregister(s)     # nothing more will come for an hour
    stop_reason = None
    try:
        for i in range(n):
            if time.monotonic() > deadline:
                stop_reason = "time budget for opening streams ran out"
                break
            try:
                s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
                s.sendall(req)
                s.setblocking(False)
            except OSError as e:
                stop_reason = f"connect/send failed after {i} streams: {e}"
                break
            socks.append(s)
            sel.register(s, selectors.EVENT_READ)
            # Pace: at most `window` streams waiting for their first event, so
            # no accept queue (the gateway's or simprov's) overflows into SYN
            # retransmits; streams pile up as fast as the gateway takes them.
            while (len(socks) - len(got) - len(refused) >= args.streams_window
                   and time.monotonic() < deadline):
                drain(0.05)
            if i % 2000 == 1999:
                progress(f"idle streams: {i + 1} opened, {len(got)} streaming")
        # wait until every stream has its first event (the gateway relays it)
        wait_end = min(deadline + 30, time.monotonic() + 60)
        while len(got) + len(refused) < len(socks) and time.monotonic() < wait_end:
            drain(0.2)
        time.sleep(1.0)
        held = len(got)
        pids = gw.pids()
        per_proc = {p: {"rss_kib": status_kb(p, "VmRSS"), "hwm_kib": status_kb(p, "VmHWM"),
                        "fds": nfds(p), "role": "controller" if p == gw.proc.pid else "worker"}
                    for p in pids}
        rss_total = sum(v["rss_kib"] for v in per_proc.values())
        st = sim.stats()
        sim_rss = status_kb(sim.proc.pid, "VmRSS")
        res = {
            "requested": want, "attempted": len(socks), "held": held, "workers": workers,
            "refused": len(refused),
            "fd_limit": soft, "limit_reason": why, "stop_reason": stop_reason,
            "open_seconds": round(time.monotonic() - t_open, 2),
            "sim_in_flight": st.get("in_flight"),
            "gateway_rss_base_kib": base_total, "gateway_rss_held_kib": rss_total,
            "gateway_rss_per_stream_kib": (rss_total - base_total) / held if held else None,
            "per_process": {str(k): v for k, v in per_proc.items()},
            "sim_rss_per_stream_kib": (sim_rss - sim_base) / held if held else None,
        }
        progress(f"idle streams: {held} held (sim in_flight {st.get('in_flight')}), gateway RSS "
                 f"{base_total / 1024:.1f} -> {rss_total / 1024:.1f} MiB, "
                 f"{res['gateway_rss_per_stream_kib'] or 0:.1f} KiB per stream")
    finally:
        for s in socks:
            s.close()
        sel.close()
    try:
        wait_for(lambda: sim.stats().get("in_flight") == 0, 30, "upstream streams to be cancelled",
                 interval=0.2)
        res["cancelled_all"] = True
    except BenchError:
        res["cancelled_all"] = False
    time.sleep(0.5)
    res["gateway_rss_after_close_kib"] = gw_rss(gw)
    procs.stop(gw.proc, timeout=15)
    procs.stop(sim.proc)
    return res


# ---------------------------------------------------------------- report

def machine_info():
    cpu = "?"
    for line in read_text("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    rev = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip() != ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "os": out(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
            "wrk": out(["wrk", "-v"]), "nginx": out([shutil.which("nginx") or "/usr/sbin/nginx", "-v"]),
            "git": rev + ("-dirty" if dirty else ""), "mem_mib": os.sysconf("SC_PHYS_PAGES") *
            os.sysconf("SC_PAGE_SIZE") // (1 << 20)}


def fmt(v, spec=".3f", none="-"):
    return none if v is None else format(v, spec)


def goals(matrix, failover):
    g = []
    summary = matrix["summary"] if matrix else None
    if summary:
        g += matrix_goals(summary)
    if failover:
        a = failover["summary"]["refused"]["added_p50_ms"]
        g.append({"goal": "refused first target adds <= 0.2 ms (p50)", "value": round(a, 4),
                  "unit": "ms", "met": a <= 0.2})
    bo = failover and failover["summary"].get("breaker_open")
    if bo:
        g.append({"goal": "a target behind an open breaker costs nothing (<= 0.02 ms p50)",
                  "value": round(bo["added_p50_ms"], 4), "unit": "ms", "met": bo["added_p50_ms"] <= 0.02})
    else:
        g.append({"goal": "a target behind an open breaker costs nothing", "value": None,
                  "unit": None, "met": None, "note": "n/a (not implemented)"})
    return g


def matrix_goals(summary):
    g = []
    sat, unl = summary["saturated"], summary["unloaded"]
    ng = sat["nginx"]
    for t in ("backstop-1w", "backstop-2w"):
        r = sat[t]["rps"] / ng["rps"]
        c = sat[t]["cpu_us_per_req"] / ng["cpu_us_per_req"] if ng["cpu_us_per_req"] else None
        g.append({"goal": f"req/s >= 0.8x nginx ({t}, 64 conns)", "value": round(r, 3),
                  "unit": "x nginx", "met": r >= 0.8})
        g.append({"goal": f"CPU/req <= 1.5x nginx ({t}, 64 conns)",
                  "value": None if c is None else round(c, 3), "unit": "x nginx",
                  "met": c is not None and c <= 1.5})
    for t in ("backstop-1w", "backstop-2w"):
        a = unl[t]["added_p50_ms"]
        g.append({"goal": f"unloaded added p50 <= 0.06 ms ({t})", "value": round(a, 4),
                  "unit": "ms", "met": a <= 0.06})
    return g


def print_table(res):
    m = res["machine"]
    w = print
    w("")
    w(f"Backstop benchmark  {res['started']}  git {m['git']}")
    w(f"machine: {m['nproc']} CPU, {m['cpu']}, kernel {m['kernel']}; {res['params']['reps']} reps, medians; "
      f"all on 127.0.0.1; load average before {' '.join(m['loadavg_before'])}, "
      f"after {' '.join(m['loadavg_after'])}")
    w("")
    mx = res.get("matrix") or {"summary": {}}
    if mx["summary"]:
        w(f"{'workload':10s} {'target':12s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} "
          f"{'+p50 ms':>8s} {'+p99 ms':>8s} {'CPU us/req':>10s} {'vs nginx':>9s} {'peak RSS':>9s}")
    for wl, rows in mx["summary"].items():
        ng = rows["nginx"]
        for t in TARGETS:
            r = rows[t]
            direct = t == "direct"
            ratio = "-" if direct or t == "nginx" else \
                f"{r['rps'] / ng['rps']:.2f}x/{r['cpu_us_per_req'] / ng['cpu_us_per_req']:.2f}x"
            peak = res["matrix"]["peak"][t]["peak_rss_kib"] / 1024
            w(f"{wl:10s} {t:12s} {r['rps']:9.0f} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} "
              f"{'-' if direct else fmt(r['added_p50_ms']):>8s} {'-' if direct else fmt(r['added_p99_ms']):>8s} "
              f"{'-' if direct else fmt(r['cpu_us_per_req'], '.1f'):>10s} {ratio:>9s} "
              f"{peak:7.1f}Mi" + (f"  ({r['errors']} errors)" if r["errors"] else ""))
        w("")
    if mx["summary"]:
        sat = mx["summary"]["saturated"]
        w("CPU split at 64 connections (us/req): " + ", ".join(
            f"{t} {('master' if t == 'nginx' else 'controller')} {fmt(sat[t]['cpu_us_per_req_controller'], '.1f')}"
            f" + workers {fmt(sat[t]['cpu_us_per_req'] - (sat[t]['cpu_us_per_req_controller'] or 0), '.1f')}"
            for t in GATEWAY_TARGETS) + f"; simprov {fmt(sat['direct']['upstream_cpu_us_per_req'], '.1f')}")
        w("+p50/+p99 = added vs direct.  vs nginx = req/s ratio / CPU-per-request ratio.  peak RSS = "
          "VmHWM summed over the gateway's processes (direct: simprov).")
    fo = res.get("failover")
    if fo:
        w("")
        w(f"Failover, 1 connection, backstop 1 worker, first_token_ms={fo['first_token_ms']}; "
          f"added = vs the plain chain; CPU from /proc/PID/schedstat (short runs)")
        w(f"{'first target':14s} {'p50 ms':>8s} {'p99 ms':>8s} {'+p50 ms':>9s} {'+p99 ms':>9s} "
          f"{'+p50-timeout':>12s} {'CPU us/req':>10s}  access log (most common)")
        labels = {"plain": "plain chain", "refused": "refused", "503": "503", "hang": "hangs",
                  "breaker_open": "breaker open"}
        for ch in FAILOVER_CHAINS + ["breaker_open"]:
            s = fo["summary"].get(ch)
            if not s:
                continue
            mix = s.get("access_log_mix") or {}
            top = max(mix.items(), key=lambda kv: kv[1]) if mix else ("?", 0)
            share = f"{100.0 * top[1] / max(sum(mix.values()), 1):.0f}% {top[0]}"
            w(f"{labels[ch]:14s} {s['p50_ms']:8.3f} {s['p99_ms']:8.3f} "
              f"{'-' if ch == 'plain' else fmt(s['added_p50_ms']):>9s} "
              f"{'-' if ch == 'plain' else fmt(s['added_p99_ms']):>9s} "
              f"{fmt(s.get('added_p50_minus_timeout_ms')):>12s} {fmt(s['cpu_us_per_req'], '.1f'):>10s}  "
              f"{share}" + (f"  ({s['errors']} errors)" if s["errors"] else ""))
        for n in fo.get("notes", []):
            w(f"  note: {n}")
    w("")
    w(f"Breaker propagation across workers: {res['breaker_propagation']}")
    idle = res.get("idle_streams")
    if idle:
        w("")
        per = idle["gateway_rss_per_stream_kib"]
        w(f"Idle streams held open: {idle['held']} of {idle['requested']} requested "
          f"({idle['workers']} workers; sim in_flight {idle['sim_in_flight']}); gateway RSS "
          f"{idle['gateway_rss_base_kib'] / 1024:.1f} MiB -> {idle['gateway_rss_held_kib'] / 1024:.1f} MiB, "
          f"{fmt(per, '.1f')} KiB per stream; after closing {idle['gateway_rss_after_close_kib'] / 1024:.1f} MiB")
        for pid, p in idle["per_process"].items():
            w(f"  {p['role']:10s} pid {pid}: RSS {p['rss_kib'] / 1024:.1f} MiB, {p['fds']} fds")
        if idle.get("refused"):
            w(f"  {idle['refused']} opens got an error answer or a close instead of a stream")
        if idle.get("limit_reason"):
            w(f"  fewer than requested: {idle['limit_reason']}")
        if idle.get("stop_reason"):
            w(f"  stopped early: {idle['stop_reason']}")
    w("")
    w("Goals (issue 7):")
    for g in res["goals"]:
        state = "n/a" if g["met"] is None else ("met" if g["met"] else "NOT met")
        val = g.get("note") or f"{g['value']} {g['unit']}"
        w(f"  {g['goal']:48s} {val:>24s}  {state}")
    w("")


# ---------------------------------------------------------------- profile

def strace_counts(procs, pid, url, stream, label):
    """Syscalls per request of one process under 3 s of 64-connection load."""
    sfile = os.path.join(procs.workdir, f"strace-{pid}.txt")
    st = subprocess.Popen(["strace", "-c", "-f", "-o", sfile, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    res = run_wrk(url, 2, 64, 3, stream=stream)
    st.send_signal(signal.SIGINT)
    st.wait(30)
    n = max(res["requests"], 1)
    lines = [f"# {label}: strace -c -f -p PID during wrk -t2 -c64 -d3s: {res['requests']} requests "
             f"(strace slows it; counts, not times, are the point)",
             f"# {'syscall':16s} {'calls':>9s} {'per request':>12s}"]
    total = 0
    for line in read_text(sfile).splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            calls = int(parts[3])
            total += calls
            lines.append(f"  {parts[-1]:16s} {calls:9d} {calls / n:12.2f}")
    lines.append(f"  {'all':16s} {total:9d} {total / n:12.2f}")
    return lines


def profile_callgrind(args, procs, cfg, prof_dir, stamp):
    """callgrind on one worker.  The controller re-executes /proc/self/exe,
    which under valgrind is valgrind itself, so the worker is started by hand
    the way ctr_workers.c starts it: `backstopd --worker STATE_DIR SLOT` with
    a listening socket on fd 3, a SOCK_SEQPACKET telemetry channel on fd 4
    (drained here, as the controller would) and the breakers' trial claim
    words on fd 5 (a memfd of BRK_CLAIM_WORDS 64-bit words, as
    shared/brk_claim.c makes it).  A normal controller publishes the config
    to STATE_DIR first."""
    import fcntl
    import threading
    gw = Gateway(procs, args.bin, "prof-cg", cfg)
    state_dir = os.path.join(gw.dir, "state")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    port = lsock.getsockname()[1]
    tel_parent, tel_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    tel_parent.setblocking(True)
    tel_child.setblocking(False)
    stop = threading.Event()

    def drain_tel():
        tel_parent.settimeout(0.2)
        while not stop.is_set():
            try:
                if not tel_parent.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return
    t = threading.Thread(target=drain_tel, daemon=True)
    t.start()
    lfd, tfd = lsock.fileno(), tel_child.fileno()
    cfd = os.memfd_create("backstop-trial-claims", 0)
    os.ftruncate(cfd, 65536 * 8)

    def child_fds():
        hi_l = fcntl.fcntl(lfd, fcntl.F_DUPFD, 100)
        hi_t = fcntl.fcntl(tfd, fcntl.F_DUPFD, 100)
        hi_c = fcntl.fcntl(cfd, fcntl.F_DUPFD, 100)
        os.dup2(hi_l, 3)
        os.dup2(hi_t, 4)
        os.dup2(hi_c, 5)
    cg_file = os.path.join(procs.workdir, "callgrind.out.worker")
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg_file}",
            os.path.join(args.bin, "backstopd"), "--worker", state_dir, "9"]
    log = open(os.path.join(procs.workdir, "callgrind-worker.out"), "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         preexec_fn=child_fds, pass_fds=(3, 4, 5), start_new_session=True)
    log.close()
    p.bench_name = "callgrind-worker"
    procs.live.append(p)
    procs._write_pids()
    try:
        wait_for(lambda: p.poll() is not None or
                 http_req(port, "GET", "/healthz", timeout=5)[0] == 200, 120, "worker under callgrind")
        if p.poll() is not None:
            raise BenchError("the worker under callgrind exited: " +
                             read_text(os.path.join(procs.workdir, "callgrind-worker.out"))[-1500:])
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        progress(f"profile: callgrind on a worker (pid {p.pid}) for {args.prof_seconds} s under 64 connections")
        warm = run_wrk(url, 2, 64, 2, stream=args.prof_stream)    # warm-up, inside the profile too
        res = run_wrk(url, 2, 64, args.prof_seconds, stream=args.prof_stream)
        res["requests_in_profile"] = warm["requests"] + res["requests"]
    finally:
        tel_child.close()
        lsock.close()
        procs.stop(p, timeout=60)
        stop.set()
        tel_parent.close()
        procs.stop(gw.proc)
    if not os.path.exists(cg_file):
        progress("profile: callgrind wrote no profile")
        return {}
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", cg_file],
                         capture_output=True, text=True, timeout=300).stdout
    anni = subprocess.run(["callgrind_annotate", "--inclusive=yes", cg_file],
                          capture_output=True, text=True, timeout=300).stdout
    path = os.path.join(prof_dir, f"profile-callgrind-{stamp}.txt")
    with open(path, "w") as f:
        f.write(f"# valgrind --tool=callgrind on one worker during wrk -t2 -c64: "
                f"{res['requests_in_profile']} requests in the profile (2 s warm-up + "
                f"{args.prof_seconds} s)\n# == self\n")
        f.write(ann + "\n\n# == inclusive\n" + anni)
        tree = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=caller",
                               "--threshold=100", cg_file], capture_output=True, text=True,
                              timeout=300).stdout
        f.write("\n\n# == inclusive, with callers\n" + tree)
    progress(f"profile: callgrind annotation in {path}")
    return {"wrk": res, "file": path}


def profile(args, procs):
    up = Sim(procs, args.bin, "upstream", fault="chunks=50")
    cfg = gw_config({"up": up.url}, {"bench-chat": [("up", "up-v1")]}, 1)
    out = {}
    prof_dir = os.path.join(ROOT, "tests", "bench", "results")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ("-stream" if args.prof_stream else "")
    want_perf = not args.no_perf and shutil.which("perf")
    want_strace = not args.no_strace and shutil.which("strace")
    if want_perf or want_strace:
        gw = Gateway(procs, args.bin, "prof-perf", cfg)
        url = f"http://127.0.0.1:{gw.port}/v1/chat/completions"
        run_wrk(url, 2, 64, 1, stream=args.prof_stream)
        w = gw.worker_pids()[0]
        path = os.path.join(prof_dir, f"profile-perf-{stamp}.txt")
        out["perf"] = {"file": path}
        with open(path, "w") as f:
            f.write("# backstopd worker profile\n")
    if want_perf:
        data = os.path.join(procs.workdir, "perf.data")
        progress(f"profile: perf record -g (cpu-clock) on worker {w} for {args.prof_seconds} s under 64 connections")
        # dwarf unwinding: Debian's libcurl/jansson/libevent have no frame
        # pointers, so only .eh_frame gives callers (and inclusive costs)
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "1000", "--call-graph",
                                 "dwarf,16384", "-p", str(w), "-o", data, "--", "sleep",
                                 str(args.prof_seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        res = run_wrk(url, 2, 64, args.prof_seconds + 1, pids=gw.pids(), stream=args.prof_stream)
        _, err = perf.communicate(timeout=120)

        def report(*extra):
            return subprocess.run(["perf", "report", "-i", data, "--stdio"] + list(extra),
                                  capture_output=True, text=True, timeout=600).stdout
        rep = report("--no-children", "--sort", "dso,symbol", "--percent-limit", "0.5", "-g", "none")
        incl = report("--children", "--sort", "symbol", "--percent-limit", "2", "-g", "none")
        dso = report("--no-children", "--sort", "dso", "-g", "none")
        out["perf"].update({"wrk": res, "report": rep, "by_dso": dso, "inclusive": incl,
                            "stderr": err[-1000:]})
        with open(path, "w") as f:
            f.write(f"# perf record -e cpu-clock -F 1000 --call-graph dwarf -p WORKER during wrk -t2 -c64, "
                    f"{res['rps']:.0f} req/s\n# == by shared object\n")
            f.write(dso + "\n\n# == self, by symbol\n" + rep + "\n\n# == inclusive (children), by symbol\n" + incl)
        progress(f"profile: perf report in {path}")
    if want_strace:
        progress("profile: strace -c on the worker, then on an nginx worker, 3 s each under "
                 "64 connections (syscalls per request)")
        lines = strace_counts(procs, w, url, args.prof_stream, "backstopd worker")
        procs.stop(gw.proc)
        ngx = Nginx(procs, up.port)
        nurl = f"http://127.0.0.1:{ngx.stream_port if args.prof_stream else ngx.port}/v1/chat/completions"
        run_wrk(nurl, 2, 64, 1, stream=args.prof_stream)
        lines += strace_counts(procs, ngx.workers[0], nurl, args.prof_stream, "nginx worker (reference)")
        procs.stop(ngx.proc)
        with open(path, "a") as f:
            f.write("\n\n# == syscalls\n" + "\n".join(lines) + "\n")
        out["perf"]["syscalls"] = "\n".join(lines)
    if (want_perf or want_strace) and gw.proc.poll() is None:
        procs.stop(gw.proc)
    if not args.no_callgrind and shutil.which("valgrind"):
        out["callgrind"] = profile_callgrind(args, procs, cfg, prof_dir, stamp)
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--sat-seconds", type=int, default=int(os.environ.get("BENCH_SAT_SECONDS", 8)))
    ap.add_argument("--lat-seconds", type=int, default=int(os.environ.get("BENCH_LAT_SECONDS", 4)))
    ap.add_argument("--stream-seconds", type=int, default=int(os.environ.get("BENCH_STREAM_SECONDS", 5)))
    ap.add_argument("--fo-seconds", type=int, default=int(os.environ.get("BENCH_FO_SECONDS", 3)))
    ap.add_argument("--fo-requests", type=int, default=250,
                    help="requests per failover run (warm-up 50 + reps x this stays under the "
                         "breakers' 1000 consecutive failures)")
    ap.add_argument("--streams", type=int, default=int(os.environ.get("BENCH_STREAMS", 10000)))
    ap.add_argument("--streams-budget", type=int, default=60, help="seconds to open the idle streams")
    ap.add_argument("--streams-window", type=int, default=256,
                    help="most streams opened but not yet streaming at a time")
    ap.add_argument("--phases", default="matrix,failover,idle",
                    help="comma-separated subset of matrix,failover,idle (for development)")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--profile", action="store_true", help="profile a 1-worker gateway instead")
    ap.add_argument("--prof-seconds", type=int, default=10)
    ap.add_argument("--prof-stream", action="store_true",
                    help="profile the streamed answer (chunks=50) instead of the plain one")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-strace", action="store_true")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)

    def on_signal(signum, frame):
        # once: run.sh may forward a TERM after the terminal's INT
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    procs = Procs(args.workdir)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        if args.profile:
            out = profile(args, procs)
            print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("file",)} for k, v in out.items()}))
            if "perf" in out:
                print(out["perf"].get("by_dso", ""))
                print(out["perf"].get("report", ""))
                print(out["perf"].get("syscalls", ""))
            return 0
        phases = set(args.phases.split(","))
        load_before = read_text("/proc/loadavg").split()[:3]
        up = Sim(procs, args.bin, "upstream", fault="chunks=50")
        res = {"started": started, "command": "make bench  (./tests/bench/run.sh build/bin)",
               "params": {"reps": args.reps, "saturated": f"wrk -t2 -c64 -d{args.sat_seconds}s",
                          "unloaded": f"wrk -t1 -c1 -d{args.lat_seconds}s",
                          "stream64": f"wrk -t2 -c64 -d{args.stream_seconds}s, stream, chunks=50",
                          "stream1": f"wrk -t1 -c1 -d{args.lat_seconds}s, stream, chunks=50",
                          "failover": f"wrk -t1 -c1, {args.fo_requests} requests per chain and rep "
                                      f"(hanging target: {args.fo_seconds} s)",
                          "backstop_access_log": "/dev/null", "backstop_log_level": "warning",
                          "binaries": args.bin}}
        if "matrix" in phases:
            res["matrix"] = phase_main(args, procs, up)
            res["params"]["request_body_bytes"] = res["matrix"]["runs"][0]["body_bytes"]
        has_breaker = config_ok(args.bin, procs.workdir, gw_config(
            {"up": up.url}, {"m": [("up", "m")]}, 1, breaker={"consecutive_failures": 3}))
        res["failover"] = phase_failover(args, procs, up) if "failover" in phases else None
        res["breaker_propagation"] = (phase_breaker_propagation(args, procs, up)
                                      if has_breaker and "failover" in phases else "n/a (not implemented)")
        res["idle_streams"] = phase_idle_streams(args, procs) if "idle" in phases else None
        procs.stop(up.proc)
        res.update(finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   elapsed_s=round(time.monotonic() - T0, 1), machine=machine_info())
        # the machine may be shared (builds, tests): the load average tells
        res["machine"]["loadavg_before"] = load_before
        res["machine"]["loadavg_after"] = read_text("/proc/loadavg").split()[:3]
        res["goals"] = goals(res.get("matrix"), res["failover"])
        print_table(res)
        os.makedirs(args.results, exist_ok=True)
        path = os.path.join(args.results, "bench-" + started.replace(":", "").replace("-", "") + ".json")
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
        progress(f"results: {os.path.relpath(path, ROOT)}  ({res['elapsed_s']} s in all)")
        return 0
    except BenchError as e:
        progress(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt as e:
        progress(f"interrupted ({e}); stopping servers")
        return 130
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
