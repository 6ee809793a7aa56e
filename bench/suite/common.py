"""Shared pieces of the performance suite (tools/bench): statistics, the results file,
hyperfine runs, scratch roots for cellmgr/cellctl and their cleanup.

Every benchmark module has run(ctx) and records metrics through ctx.metric(); report.py turns
the results into docs/PERFORMANCE.md's generated summary and the plots."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        raise ValueError("no samples")
    # Linear interpolation between the closest ranks (the usual "type 7" quantile).
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(samples):
    """Median and spread of a list of numbers: what every table and plot shows."""
    if not samples:
        raise ValueError("no samples")
    return {
        "n": len(samples),
        "median": statistics.median(samples),
        "p10": quantile(samples, 0.10),
        "p90": quantile(samples, 0.90),
        "min": min(samples),
        "max": max(samples),
        "samples": list(samples),
    }


class BenchError(RuntimeError):
    pass


def sh(cmd, check=True, capture=True, env=None, timeout=None, cwd=None):
    """Runs a command (list, or a string through /bin/sh); raises BenchError naming it on failure."""
    shell = isinstance(cmd, str)
    r = subprocess.run(cmd, shell=shell, env=env, timeout=timeout, cwd=cwd,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, text=True)
    if check and r.returncode != 0:
        shown = cmd if shell else " ".join(cmd)
        err = (r.stderr or "").strip().splitlines()
        raise BenchError(f"`{shown}` exited {r.returncode}: {err[-1] if err else ''}")
    return r


def timed(cmd, **kw):
    t0 = time.perf_counter()
    sh(cmd, **kw)
    return time.perf_counter() - t0


def hyperfine(named_cmds, runs, warmup, json_path, prepare=None, cpu=None):
    """Runs hyperfine -N over [(name, cmd)] in ONE run (same machine state for all) and
    returns {name: [wall seconds...]}; with cpu={} also fills it with {name: [mean user+system
    seconds per run]} (hyperfine keeps only the mean of CPU time), which other work on a
    shared machine disturbs far less than wall time."""
    args = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs),
            "--export-json", json_path, "--style", "none"]
    if prepare:
        args += ["--prepare", prepare]
    for name, cmd in named_cmds:
        args += ["-n", name, cmd]
    sh(args)
    with open(json_path) as f:
        res = json.load(f)["results"]
    if cpu is not None:
        for r in res:
            cpu[r["command"]] = [r["user"] + r["system"]]
    return {r["command"]: r["times"] for r in res}


def wait_tcp(port, timeout, host="127.0.0.1"):
    """Seconds until a TCP connect to host:port succeeds (polling every 1 ms), or BenchError."""
    t0 = time.perf_counter()
    while True:
        s = socket.socket()
        try:
            s.connect((host, port))
            return time.perf_counter() - t0
        except OSError:
            if time.perf_counter() - t0 > timeout:
                raise BenchError(f"nothing accepted on {host}:{port} within {timeout} s")
            time.sleep(0.001)
        finally:
            s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def instance_name(root):
    """The per-root instance name base/paths.cc derives (FNV-1a of the root path), which names
    the root's cgroups and BPF pins."""
    h = 2166136261
    for c in root.encode():
        h ^= c
        h = (h * 16777619) & 0xFFFFFFFF
    return "cells-%08x" % h


def mem_kib(field):
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k == field:
                return int(v.split()[0])
    raise BenchError(f"/proc/meminfo has no {field}")


def smaps_rollup(pid):
    """{'Pss': KiB, 'Private_Clean': ..., ...} of one process."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1])
    return out


class Context:
    """What every benchmark gets: the binaries, sizes for this mode, a scratch directory, and
    the place to record metrics and curves."""

    def __init__(self, src, build, out, quick, log):
        self.src = src
        self.build = build
        self.out = out
        self.quick = quick
        self.log = log
        self.cellmgr = os.path.join(build, "cli/cellmgr/cellmgr")
        self.cellctl = os.path.join(build, "cli/cellctl/cellctl")
        self.metrics = []
        self.series = []
        self.notes = []
        self.growth = {}
        self.raw_dir = os.path.join(out, "raw")
        os.makedirs(self.raw_dir, exist_ok=True)
        # Rounds: run.py runs every benchmark more than once, spread over the whole run, because
        # the machine drifts over minutes (other tenants, writeback) more than between samples
        # seconds apart. A benchmark passes each round's samples; pool() keeps them per round.
        self.round = 1
        self.rounds = 1
        self._pools = {}
        self._notes = {}

    def pool(self, key, samples):
        """Adds this round's samples under key (a round repeated replaces its own) and returns
        (every round's samples in one list, the per-round lists)."""
        per_round = self._pools.setdefault(key, {})
        per_round[self.round] = list(samples)
        rounds = [per_round[r] for r in sorted(per_round)]
        return [x for r in rounds for x in r], rounds

    def metric(self, bench, key, name, unit, cells, peers, goal=None, better="lower",
               ratio_goal=None, detail="", refs=None):
        """One summary row. cells/peers hold samples; the best peer is the one with the best
        median; ratio = cells median / best peer median. ratio_goal (e.g. 1.03) or goal
        (absolute, in unit) decide 'met?'. refs are shown but never chosen as the best peer
        (e.g. the same server with no isolation at all).

        The samples are this round's: the row shown pools every round so far (and replaces the
        row of the round before), and keeps each round's median of the cells side."""
        cells, cell_rounds = self.pool((bench, key, "cells"), cells)
        peers = {k: self.pool((bench, key, "peer", k), s)[0] for k, s in peers.items() if s}
        refs = {k: self.pool((bench, key, "ref", k), s)[0] for k, s in (refs or {}).items() if s}
        c = summarize(cells)
        if len(cell_rounds) > 1:
            c["round_medians"] = [statistics.median(r) for r in cell_rounds]
        p = {name_: summarize(s) for name_, s in peers.items() if s}
        r = {name_: summarize(s) for name_, s in refs.items() if s}
        best = None
        if p:
            pick = min if better == "lower" else max
            best = pick(p, key=lambda k: p[k]["median"])
        ratio = c["median"] / p[best]["median"] if best and p[best]["median"] else None
        met = None
        goal_text = ""
        if goal is not None:
            met = c["median"] <= goal if better == "lower" else c["median"] >= goal
            goal_text = ("<= " if better == "lower" else ">= ") + fmt(goal) + " " + unit
        elif ratio_goal is not None and ratio is not None:
            met = ratio <= ratio_goal if better == "lower" else ratio >= ratio_goal
            goal_text = f"ratio {'<=' if better == 'lower' else '>='} {ratio_goal:g}"
        row = {"bench": bench, "key": key, "name": name, "unit": unit,
               "better": better, "cells": c, "peers": p, "refs": r, "best_peer": best,
               "ratio": ratio, "goal": goal_text, "met": met, "detail": detail}
        # A later round replaces its row in place: the table keeps the order of the first round.
        at = next((i for i, m in enumerate(self.metrics) if (m["bench"], m["key"]) == (bench, key)),
                  None)
        if at is None:
            self.metrics.append(row)
        else:
            self.metrics[at] = row
        self.log(f"  {name}: {fmt(c['median'])} {unit} [{fmt(c['p10'])}..{fmt(c['p90'])}]"
                 + (f", best peer {best} {fmt(p[best]['median'])}, ratio {ratio:.2f}" if best else ""))

    def curve(self, key, title, xlabel, ylabel, lines, logx=False):
        """A plot: lines = {label: [(x, samples), ...]}; x is a number or a category name. Like
        metric(), the samples are this round's and the plot pools every round."""
        pooled = {k: [[x, summarize(self.pool(("curve", key, k, x), s)[0])] for x, s in v]
                  for k, v in lines.items()}
        series = {"key": key, "title": title, "xlabel": xlabel, "ylabel": ylabel, "logx": logx,
                  "lines": pooled}
        at = next((i for i, s in enumerate(self.series) if s["key"] == key), None)
        if at is None:
            self.series.append(series)
        else:
            self.series[at] = series

    def note(self, bench, text):
        """A benchmark's notes describe its latest round (computed from pooled samples where they
        quote numbers), so a round replaces the notes of the rounds before it."""
        self.log("  note: " + text)
        if self._notes.get(bench, (None,))[0] != self.round:
            self._notes[bench] = (self.round, [])
        self._notes[bench][1].append(text)
        self.notes = [n for _, ns in self._notes.values() for n in ns]


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


class ScratchRoot:
    """A cellmgr instance on a mkdtemp --root; close() resets it (stops every cell, removes
    its cgroups and pins) and removes the directory, so nothing is left on the host."""

    def __init__(self, ctx, tag):
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(prefix=f"cells-bench-{tag}-", dir="/var/tmp")
        self.root = self.dir
        self.etc = os.path.join(self.root, "etc/cellmgr")

    def cellmgr(self, *args, check=True, timeout=600):
        return sh([self.ctx.cellmgr, "--root", self.root, *args], check=check, timeout=timeout)

    def cellmgr_cmd(self, *args):
        return " ".join([self.ctx.cellmgr, "--root", self.root, *args])

    def cellctl(self, *args, check=True, timeout=600):
        return sh([self.ctx.cellctl, "--root", self.root, *args], check=check, timeout=timeout)

    def cellctl_cmd(self, *args):
        return " ".join([self.ctx.cellctl, "--root", self.root, *args])

    def bootstrap(self):
        self.cellmgr("system", "bootstrap")

    def close(self):
        r = sh([self.ctx.cellmgr, "--root", self.root, "system", "reset", "--yes"], check=False,
               timeout=900)
        if r.returncode != 0:
            self.ctx.log(f"  warning: system reset of {self.root} failed: {r.stderr.strip()}")
        inst = instance_name(self.root)
        shutil.rmtree(f"/sys/fs/bpf/{inst}", ignore_errors=True)
        # Only remove the directory when nothing is mounted under it any more.
        with open("/proc/self/mountinfo") as f:
            busy = any(f" {self.root}/" in line or f" {self.root} " in line for line in f)
        if not busy:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            self.ctx.log(f"  warning: mounts left under {self.root}; not removed")
