"""backstopd -t: every config error with its JSON path."""
import json
import os
import subprocess

import harness
from harness import check


def run_t(env, cfg_text):
    path = os.path.join(env.dir, "c.json")
    with open(path, "w") as f:
        f.write(cfg_text)
    p = subprocess.run([os.path.join(harness.BIN, "backstopd"), "-t", "-c", path],
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout + p.stderr


def test_good_config(env):
    rc, out = run_t(env, open("etc/backstop.json").read())
    check(rc == 0 and "is ok" in out, out)


def test_every_error_reported(env):
    cfg = json.load(open("etc/backstop.json"))
    cfg["workers"] = "two"
    cfg["providers"]["sim-primary"]["basse_url"] = "x"
    cfg["models"]["sim-chat"]["targets"][1]["provider"] = "nowhere"
    rc, out = run_t(env, json.dumps(cfg))
    check(rc == 1, (rc, out))
    check("$.workers" in out, out)
    check("$.providers.sim-primary.basse_url" in out or '$.providers["sim-primary"].basse_url' in out, out)
    check("nowhere" in out and "targets[1].provider" in out, out)
    check("3 error(s)" in out, out)


def test_syntax_error_position(env):
    rc, out = run_t(env, '{"listen": "127.0.0.1:1",\n "workers": }')
    check(rc == 1 and ":2:" in out, out)


def test_usage_errors(env):
    p = subprocess.run([os.path.join(harness.BIN, "backstopd")], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "-c FILE" in p.stderr, p.stderr)
    p = subprocess.run([os.path.join(harness.BIN, "backstopd"), "-c", "/nonexistent.json"],
                       capture_output=True, text=True, timeout=10)
    check(p.returncode == 1 and "/nonexistent.json" in p.stderr, p.stderr)
