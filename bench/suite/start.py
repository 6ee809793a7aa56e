"""1. Cell start (bench/kernel/cell_start.sh, driven with every peer in the same hyperfine run):
create + exec /bin/true + destroy, and exec into a running cell, per profile, against bwrap,
unshare, systemd-nspawn and crun, each starting and tearing down a sandbox around /bin/true."""
import json
import os

from common import BenchError, sh

PEERS = ["bwrap", "unshare", "nspawn", "crun"]


def run(ctx):
    runs = 10 if ctx.quick else 30  # per round
    out = os.path.join(ctx.raw_dir, "cell_start.json")
    env = dict(os.environ, CELL_START_PEERS="all", CELL_START_JSON=out)
    r = sh([os.path.join(ctx.src, "bench/kernel/cell_start.sh"), ctx.build, str(runs)], env=env)
    ctx.log(r.stdout.rstrip())
    with open(out) as f:
        times = {x["command"]: [t * 1000 for t in x["times"]] for x in json.load(f)["results"]}
    missing = [p for p in PEERS if p not in times]
    if missing:
        raise BenchError(f"cell_start.sh ran without peers {missing}")
    peers = {p: times[p] for p in PEERS}
    lines = {}
    for kind, label in (("cycle", "create + exec /bin/true + destroy"),
                        ("exec", "exec /bin/true into a running cell")):
        for prof in ("low", "medium", "high"):
            refs = {"cellctl --help (its process start alone)": times.get("cellctl-help", [])}
            ctx.metric("start", f"{kind}-{prof}", f"cell start: {label}, {prof}", "ms",
                       times[f"{kind}-{prof}"], peers, ratio_goal=1.0,
                       refs=refs if kind == "exec" else None,
                       detail="peers start a fresh sandbox around /bin/true and tear it down")
        lines[f"cells {kind}"] = [(p, times[f"{kind}-{p}"]) for p in ("low", "medium", "high")]
    for p in PEERS:
        lines[p] = [(prof, times[p]) for prof in ("low", "medium", "high")]
    ctx.curve("start_profiles", "Cell start per profile (ms, median with p10..p90)", "profile",
              "ms", lines)
