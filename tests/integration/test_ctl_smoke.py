"""backstopctl against a running gateway: status, targets, keys, audit,
reload, usage errors (the control plane's first part)."""
import glob
import json
import os
import subprocess

import harness
from harness import check, chat_body


def ctl(gw, *args, stdin=None, by_socket=False):
    where = ["-s", os.path.join(gw.dir, "admin.sock")] if by_socket else ["-c", gw.config_path]
    p = subprocess.run([os.path.join(harness.BIN, "backstopctl"), *where, *args],
                       input=stdin, capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def ctl_config(env, sims):
    cfg = env.config(sims)
    cfg["admin"] = {"socket": "admin.sock"}
    cfg["keys"] = {"master_key_file": "master.key"}
    return cfg


def test_status_targets_and_usage(env):
    a = env.sim("sim-a")
    gw = env.gateway(ctl_config(env, [a]))
    rc, out, err = ctl(gw, "--json", "status")
    check(rc == 0, (rc, err))
    st = json.loads(out)
    pids = gw.worker_pids()
    check(sorted(w["pid"] for w in st["workers"]) == pids, (st, pids))
    rc, out, err = ctl(gw, "targets")
    check(rc == 0 and "sim-a/sim-a-model" in out and "closed" in out, out)
    rc, out, err = ctl(gw, "frobnicate")
    check(rc == 2 and "usage" in err, (rc, err))
    rc, out, err = ctl(gw, "events", "--limit", "many")
    check(rc == 2, (rc, err))


def test_keys_are_encrypted_and_used(env):
    a = env.sim("sim-a")
    gw = env.gateway(ctl_config(env, [a]))
    secret = "sk-smoke-7f3a9c1e"
    rc, out, err = ctl(gw, "keys", "set", "sim-a", stdin=secret + "\n")
    check(rc == 0, (rc, out, err))
    r = gw.post(chat_body())
    check(r.status == 200, r.status)
    check(a.stats()["last_headers"]["authorization"] == "Bearer " + secret, a.stats()["last_headers"])
    rc, out, err = ctl(gw, "keys", "list")
    check(rc == 0 and "sim-a" in out and secret not in out, out)
    rc, audit, err = ctl(gw, "audit")
    check(rc == 0 and "keys set" in audit and secret not in audit, audit)
    files = glob.glob(os.path.join(gw.dir, "**"), recursive=True)
    for f in files:
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                check(secret.encode() not in fh.read(), f"plaintext key in {f}")
    rc, out, err = ctl(gw, "keys", "rotate-master")
    check(rc == 0, (rc, out, err))
    check(gw.post(chat_body()).status == 200, "provider broken after the master key rotation")
    check(a.stats()["last_headers"]["authorization"] == "Bearer " + secret, "key lost in rotation")


def test_reload_reports_errors(env):
    a = env.sim("sim-a")
    gw = env.gateway(ctl_config(env, [a]))
    good = open(gw.config_path).read()
    with open(gw.config_path, "w") as f:
        f.write('{"listen": 5}')
    # The config file is broken, so the socket is named directly.
    rc, out, err = ctl(gw, "reload", by_socket=True)
    check(rc == 1 and "listen" in out + err, (rc, out, err))
    check(gw.post(chat_body()).status == 200, "old config stopped serving")
    with open(gw.config_path, "w") as f:
        f.write(good)
