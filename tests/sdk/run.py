#!/usr/bin/env python3
"""Runs the SDK conformance suite (conformance.mjs) against the real
gateway: two simulated providers, one speaking OpenAI and one Anthropic,
and a chain on each, so both inbound APIs are tried on both formats.
Needs `npm ci` in tests/sdk (make deps does it)."""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    args = ap.parse_args()
    if not shutil.which("node"):
        print("sdk: node is not installed (apt-get install nodejs npm)", file=sys.stderr)
        return 1
    for pkg in ("openai", "@anthropic-ai/sdk"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", pkg)):
            print(f"sdk: npm package {pkg} missing in tests/sdk/node_modules; run `make deps` "
                  "(npm ci in tests/sdk, needs the npm registry)", file=sys.stderr)
            return 1
    import harness
    harness.BIN = os.path.abspath(args.bin)
    from adapters import mixed_config
    env = harness.Env()
    rc = 1
    try:
        a = env.sim("sim-a")
        b = env.sim("sim-b")
        cfg = mixed_config(env, [(a, "openai"), (b, "anthropic")])
        cfg["models"] = {"sdk-openai": {"targets": [{"provider": "sim-a", "model": "sim-a-model"}]},
                         "sdk-anthropic": {"targets": [{"provider": "sim-b", "model": "claude-sim"}]}}
        gw = env.gateway(cfg)
        run_env = dict(os.environ, BACKSTOP_SDK_BASE=f"http://127.0.0.1:{gw.port}",
                       BACKSTOP_SDK_MODELS="sdk-openai,sdk-anthropic")
        rc = subprocess.run(["node", os.path.join(HERE, "conformance.mjs")], cwd=HERE, env=run_env,
                            timeout=300).returncode
    finally:
        problems = env.close()
        if problems:
            print("\n".join(problems), file=sys.stderr)
            rc = 1
    if rc == 0:
        shutil.rmtree(env.dir, ignore_errors=True)
    else:
        print(f"sdk: logs in {env.dir}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
