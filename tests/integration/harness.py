"""Integration-test harness: runs the real backstopd and simulated providers
on 127.0.0.1 with ephemeral ports in a temporary directory, and stops them.

Every wait is bounded (wait_for); every process started is stopped at the
end of its test; a test fails if any log holds a sanitizer report.
"""
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("BACKSTOP_BIN", "build/bin")
SANITIZER_RE = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"SUMMARY: UndefinedBehaviorSanitizer)")


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Polls pred() until it returns a truthy value; fails after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_file(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def request(port, method, path, body=None, headers=None, timeout=30.0):
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
        data = r.read()
        return Response(r.status, r.getheaders(), data)
    finally:
        conn.close()


def chat_body(model="sim-chat", text="hello there", stream=False, **extra):
    b = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        b["stream"] = True
    b.update(extra)
    return b


def sse_events(raw):
    """Splits an SSE body into the data payloads of its events."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    out = []
    for block in re.split(r"\r?\n\r?\n", text):
        data = [l[5:].lstrip(" ") for l in block.splitlines() if l.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


class Proc:
    def __init__(self, argv, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def send(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.alive():
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.log.close()
        return self.p.returncode


class Sim:
    def __init__(self, env, name, model_version=None, fault=None, port=0, args=()):
        self.name = name
        port_file = os.path.join(env.dir, f"{name}.port")
        argv = [os.path.join(BIN, "simprov"), "--listen", f"127.0.0.1:{port}", "--name", name,
                "--port-file", port_file]
        if model_version:
            argv += ["--model-version", model_version]
        if fault:
            argv += ["--fault", fault]
        argv += list(args)
        self.proc = Proc(argv, os.path.join(env.dir, f"{name}.log"))
        self.port = int(wait_for(lambda: read_file(port_file).strip(), 10, what=f"{name} port"))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def fault(self, spec):
        r = request(self.port, "POST", "/_sim/fault", spec, {"Content-Type": "text/plain"})
        check(r.status == 200, f"sim fault {spec!r}: {r.status} {r.body!r}")

    def clear(self):
        request(self.port, "DELETE", "/_sim/fault")

    def stats(self):
        return request(self.port, "GET", "/_sim/stats").json()

    def reset(self):
        request(self.port, "POST", "/_sim/reset")


class Gateway:
    def __init__(self, env, config, name="gw"):
        self.env = env
        self._answered = set()  # x-request-id of every answer post() got
        self.expected_rc = 0  # a test that kills the controller sets it
        self.dir = os.path.join(env.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "backstop.json")
        self.state_dir = os.path.join(self.dir, "state")
        self.access_log = os.path.join(self.dir, "access.log")
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.write_config(config)
        listen_file = os.path.join(self.state_dir, "listen")
        if os.path.exists(listen_file):
            os.unlink(listen_file)  # a killed controller's, stale
        self.proc = Proc([os.path.join(BIN, "backstopd"), "-c", self.config_path],
                         os.path.join(self.dir, "stderr.log"), env=env.proc_env)
        try:
            addr = wait_for(lambda: read_file(listen_file).strip() or (not self.proc.alive() and "dead"),
                            15, what="gateway listen file")
            check(addr != "dead", "backstopd exited at start:\n" + self.logs())
            self.port = int(addr.rsplit(":", 1)[1])
            wait_for(self._healthy, 15, what="gateway health")
        except BaseException:
            self.proc.stop(signal.SIGKILL)
            raise

    def write_config(self, config):
        cfg = dict(config)
        cfg.setdefault("listen", "127.0.0.1:0")
        cfg.setdefault("state_dir", "state")
        cfg.setdefault("workers", 2)
        log = dict(cfg.get("log", {}))
        log.setdefault("file", "daemon.log")
        log.setdefault("access_log", "access.log")
        log.setdefault("level", "info")
        cfg["log"] = log
        with open(self.config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        self.config = cfg

    def _healthy(self):
        try:
            return request(self.port, "GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def logs(self):
        return read_file(self.log_path) + read_file(os.path.join(self.dir, "stderr.log"))

    def access(self, timeout=5.0):
        """The access log's lines.  A worker writes a line just after its
        answer leaves, in the same loop pass: wait until the line of every
        answer post() got is there (bounded; the caller's checks decide)."""
        end = time.monotonic() + timeout
        while True:
            lines = [json.loads(l) for l in read_file(self.access_log).splitlines() if l.strip()]
            seen = {l.get("request_id") for l in lines}
            if self._answered <= seen or time.monotonic() > end:
                return lines
            time.sleep(0.01)

    def access_rotated(self):
        """The access log was moved away: the lines of earlier answers are
        not coming to the new file."""
        self._answered.clear()

    def post(self, body, headers=None, path="/v1/chat/completions", timeout=30):
        r = request(self.port, "POST", path, body, headers, timeout)
        rid = r.header("x-request-id")
        if rid:
            self._answered.add(rid)
        return r

    def get(self, path, timeout=10):
        return request(self.port, "GET", path, None, None, timeout)

    def worker_pids(self):
        """Pids of the controller's children (the workers)."""
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.p.pid)], capture_output=True,
                                 text=True, timeout=5).stdout
        except subprocess.TimeoutExpired:
            return []
        return sorted(int(x) for x in out.split())

    def stop(self, sig=signal.SIGTERM):
        return self.proc.stop(sig, timeout=40)

    def lmdb(self, db):
        """The values of one LMDB database of the state store, in key order
        (read with mdb_dump, as an operator could)."""
        out = subprocess.run(["mdb_dump", "-p", "-s", db, self.state_dir], capture_output=True,
                             text=True, timeout=10)
        check(out.returncode == 0, f"mdb_dump {db}: {out.stderr}")
        lines = out.stdout.split("HEADER=END\n", 1)[1].splitlines()
        pairs = [l[1:] for l in lines if l.startswith(" ")]
        return [pairs[i + 1] for i in range(0, len(pairs) - 1, 2)]


class Env:
    """One test's world: a temp dir, its processes, and the checks at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="backstop-it-")
        self.sims = []
        self.gateways = []
        self.proc_env = dict(os.environ)
        self.proc_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")

    def sim(self, name, model_version=None, fault=None, port=0, args=()):
        s = Sim(self, name, model_version, fault, port, args)
        self.sims.append(s)
        return s

    def gateway(self, config, name="gw"):
        g = Gateway(self, config, name)
        self.gateways.append(g)
        return g

    def config(self, sims, models=None, **extra):
        """A config with one openai-compatible provider per sim and, unless
        given, one chain 'sim-chat' over all sims in order."""
        providers = {s.name: {"type": "openai-compatible", "base_url": s.url} for s in sims}
        if models is None:
            models = {"sim-chat": {"targets": [{"provider": s.name, "model": f"{s.name}-model"}
                                               for s in sims]}}
        cfg = {"providers": providers, "models": models,
               "timeouts": {"connect_ms": 1000, "first_token_ms": 5000, "idle_stream_ms": 5000,
                            "request_ms": 20000, "drain_grace_ms": 5000}}
        cfg.update(extra)
        return cfg

    def close(self):
        problems = []
        for g in self.gateways:
            rc = g.stop()
            if rc not in (0, None, g.expected_rc):
                problems.append(f"backstopd exited with {rc}")
        for s in self.sims:
            s.proc.stop()
        for g in self.gateways:
            text = g.logs()
            if SANITIZER_RE.search(text):
                problems.append("sanitizer report in gateway logs:\n" + text[-4000:])
        for s in self.sims:
            if SANITIZER_RE.search(read_file(s.proc.log_path)):
                problems.append(f"sanitizer report in {s.name} log")
        return problems


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def silent_port():
    """A port whose connects time out: a listener that never accepts, its
    backlog filled, so a new SYN is dropped (all on loopback)."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    fillers = []
    try:
        for _ in range(8):
            c = socket.socket()
            fillers.append(c)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", lst.getsockname()[1]))
            except BlockingIOError:
                pass
        yield lst.getsockname()[1]
    finally:
        for c in fillers:
            c.close()
        lst.close()
