"""tools/bench's driver: runs the benchmarks in order, keeps going when one fails (the failure
is reported in the results and the summary), then writes the results and the report.

  python3 bench/suite/run.py --src DIR --build DIR --out DIR [--quick] [--only a,b] [--doc FILE]"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import report  # noqa: E402

# Order within a round: the cheap, sensitive ones first (start, overhead), the disk-heavy ones
# last so their page cache and writeback do not disturb the latency numbers.
BENCHES = ["start", "service", "overhead", "scaling", "journal", "backup"]


def schedule(quick):
    """[(round, benchmark)]. One run's spread from samples seconds apart understated how far the
    machine drifts in half an hour (session 5: 8 of 23 medians of a second run fell outside the
    first run's p10..p90), so a full run measures every benchmark in rounds spread over the
    whole run and reports the spread of all of them: three rounds of the short benchmarks, and
    backup (7 minutes a round) between them twice. --quick is one round."""
    if quick:
        return [(1, b) for b in BENCHES]
    short = [b for b in BENCHES if b != "backup"]
    return ([(1, b) for b in short] + [(1, "backup")] + [(2, b) for b in short]
            + [(2, "backup")] + [(3, b) for b in short])


def machine(src):
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""
    cpu = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), "unknown")
    os_name = next((line.split("=", 1)[1].strip('"') for line in read("/etc/os-release").splitlines()
                    if line.startswith("PRETTY_NAME=")), "unknown")

    def git(*args):
        r = subprocess.run(["git", "-C", src, *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    return {
        "cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(common.mem_kib("MemTotal") / 2**20, 1),
        "kernel": os.uname().release, "os": os_name,
        "commit": git("rev-parse", "--short=12", "HEAD"),
        # Only what is built and run counts: the suite rewrites its own outputs as it goes, and
        # an edit to the documentation changes no number.
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs")),
        "loadavg_start": read("/proc/loadavg").split()[:3],
    }


def settle_writeback(log, limit_kib=64 * 1024, timeout_s=120):
    """Waits until the page cache holds less than LIMIT of dirty or in-flight data: backup
    leaves gigabytes of writeback behind, and the round after it starts with latency
    benchmarks (session 6's first rounds run showed a file-creation round 1.8x slower)."""
    os.sync()
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        pending = common.mem_kib("Dirty") + common.mem_kib("Writeback")
        if pending < limit_kib:
            break
        time.sleep(1)
    log(f"  writeback settled in {time.time() - t0:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--doc", help="PERFORMANCE.md whose generated block to replace")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = [x for x in a.only.split(",") if x]
    unknown = [x for x in only if x not in BENCHES]
    if unknown:
        sys.exit(f"bench: unknown benchmark(s) {','.join(unknown)}; known: {','.join(BENCHES)}")
    os.makedirs(os.path.join(a.out, "raw"), exist_ok=True)
    logf = open(os.path.join(a.out, "raw", "log.txt"), "w")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()
    ctx = common.Context(a.src, a.build, a.out, a.quick, log)
    meta = machine(a.src)
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta["mode"] = "quick" if a.quick else "full"
    failures = {}
    durations = {}
    plan = [(r, b) for r, b in schedule(a.quick) if not only or b in only]
    ctx.rounds = max(r for r, _ in plan)
    meta["rounds"] = {b: sum(1 for _, x in plan if x == b) for b in BENCHES if any(x == b for _, x in plan)}
    t_all = time.time()
    for rnd, name in plan:
        ctx.round = rnd
        log(f"== {name} (round {rnd} of {ctx.rounds})")
        t0 = time.time()
        try:
            __import__(name).run(ctx)
        except Exception as e:  # one broken benchmark must not lose the others' results
            failures[name] = f"round {rnd}: {type(e).__name__}: {e}"
            log(f"  FAILED: {failures[name]}")
            logf.write(traceback.format_exc())
        if name == "backup" and (rnd, name) != plan[-1]:
            settle_writeback(log)
        durations[name] = round(durations.get(name, 0) + time.time() - t0, 1)
        log(f"  ({time.time() - t0:.1f} s)")
    meta["duration_s"] = round(time.time() - t_all, 1)
    meta["durations_s"] = durations
    with open("/proc/loadavg") as f:
        meta["loadavg_end"] = f.read().split()[:3]
    results = {"meta": meta, "metrics": ctx.metrics, "series": ctx.series, "notes": ctx.notes,
               "growth": ctx.growth, "failures": failures}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    report.write_all(results, a.out, a.doc)
    log(f"== done in {meta['duration_s']} s; results in {a.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
