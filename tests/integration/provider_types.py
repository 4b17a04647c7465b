"""Chains over simulated providers of every type: the sim serves each
format on its own paths, so one simprov stands in for an OpenAI, Anthropic,
Azure, Gemini or Vertex endpoint depending on the base URL and type the
gateway is given."""
from adapters import mixed_config

GOOGLE_KEY = "AIza-sim-test-key"
AZURE_KEY = "azure-sim-test-key"
VERTEX_TOKEN = "ya29.sim-test-token"
VERTEX_PATH = "/v1/projects/proj-1/locations/us-east5"


def typed_config(env, targets, azure_version="2024-10-21", **extra):
    """targets: [(sim, type)] with type openai, anthropic, azure, azure-v1,
    gemini, vertex-gemini or vertex-anthropic; one chain 'sim-chat' over them in order."""
    base = [(s, t if t in ("openai", "anthropic") else "openai") for s, t in targets]
    cfg = mixed_config(env, base, **extra)
    env.proc_env["BACKSTOP_SIM_GOOGLE_KEY"] = GOOGLE_KEY
    env.proc_env["BACKSTOP_SIM_AZURE_KEY"] = AZURE_KEY
    env.proc_env["BACKSTOP_SIM_VERTEX_TOKEN"] = VERTEX_TOKEN
    root = lambda s: f"http://127.0.0.1:{s.port}"
    for sim, typ in targets:
        p = None
        if typ == "gemini":
            p = {"type": "gemini", "base_url": root(sim), "api_key_env": "BACKSTOP_SIM_GOOGLE_KEY"}
        elif typ == "vertex-gemini":
            p = {"type": "vertex-gemini", "base_url": root(sim) + VERTEX_PATH,
                 "api_key_env": "BACKSTOP_SIM_VERTEX_TOKEN"}
        elif typ == "vertex-anthropic":
            p = {"type": "vertex-anthropic", "base_url": root(sim) + VERTEX_PATH,
                 "api_key_env": "BACKSTOP_SIM_VERTEX_TOKEN"}
        elif typ == "azure":
            p = {"type": "azure", "base_url": root(sim), "api_key_env": "BACKSTOP_SIM_AZURE_KEY",
                 "api_version": azure_version}
        elif typ == "azure-v1":
            p = {"type": "azure", "base_url": root(sim) + "/openai/v1", "api_key_env": "BACKSTOP_SIM_AZURE_KEY"}
        if p:
            cfg["providers"][sim.name] = p
    return cfg
