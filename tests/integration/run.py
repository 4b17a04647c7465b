#!/usr/bin/env python3
"""Runs the integration suites: every test_* function of the test_*.py
modules here, each in its own Env, and ends with `N passed, N failed`."""
import argparse
import importlib
import os
import shutil
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    args = ap.parse_args()
    os.environ["BACKSTOP_BIN"] = os.path.abspath(args.bin)
    import harness
    harness.BIN = os.environ["BACKSTOP_BIN"]
    passed = failed = 0
    failures = []
    for mod_name in sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py")):
        mod = importlib.import_module(mod_name)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{mod_name}.{name}"
            if args.k and args.k not in full:
                continue
            env = harness.Env()
            t0 = time.monotonic()
            err = None
            try:
                getattr(mod, name)(env)
            except Exception:
                err = traceback.format_exc()
            try:
                problems = env.close()
            except Exception:
                problems = [traceback.format_exc()]
            if problems and not err:
                err = "\n".join(problems)
            dt = time.monotonic() - t0
            if err:
                failed += 1
                failures.append(full)
                print(f"FAIL {full} ({dt:.1f}s)\n{err}\n  logs in {env.dir}", flush=True)
            else:
                passed += 1
                print(f"ok   {full} ({dt:.1f}s)", flush=True)
                shutil.rmtree(env.dir, ignore_errors=True)
    if failures:
        print("failed: " + ", ".join(failures))
    print(f"integration: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
