"""The seed sweep: every check at many seeds, to show that no verdict on an implementation is luck.

    python -m kit seeds                           the reference at 50 random 128-bit seeds
    python -m kit seeds --count 2000 --impl A --impl B --jobs 2
    python -m kit seeds --seeds 17862312,7 --only 07

A test's verdict can depend on the seed only through what it draws from the `rng` fixture. So the
sweep runs every other test once, and every test that draws once per seed, all in one pytest
session per implementation and chunk of seeds (one process each, `--jobs` at a time), through
pytest's own test protocol and the kit's plugin: each verdict is the one that
`python -m kit check NN --seed S` gives the same tree. The exit status is 0 exactly when every
check earns full marks at every seed.
"""

import argparse
import contextlib
import io
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _pytest.runner import runtestprotocol

from checks import plugin
from kit import ROOT, runner
from kit.exercises import HELP_IMPL, parse_ids

MESSAGE_CHARS = 600  # of the first failure of each test, kept for the summary


def random_seeds(count):
    """`count` fresh 128-bit seeds, as grading derives them (kit/instructor/secret.py): new every run."""
    return [secrets.randbits(128) for _ in range(count)]


# --- the pytest side: loaded with -p kit.dev.seeds, in the process that runs the checks ------------


def pytest_addoption(parser):
    group = parser.getgroup("micrograd-kit sweep", "the seed sweep (python -m kit seeds)")
    group.addoption("--sweep-seeds", default="", help="comma-separated seeds at which each drawing test runs")
    group.addoption("--sweep-out", default=None, help="write the sweep's verdicts as JSON to this file")


def pytest_configure(config):
    seeds = [int(s) for s in config.getoption("sweep_seeds").split(",") if s]
    if seeds and not config.pluginmanager.has_plugin("kit-sweep"):
        config.pluginmanager.register(Sweep(seeds, config.getoption("sweep_out")), "kit-sweep")


class Sweep:
    """Runs each test that draws from the seed once per seed, and every other test once."""

    def __init__(self, seeds, out):
        self.seeds, self.out = seeds, out
        self.results = []  # (seed, or None for a test that draws nothing; the plugin's result)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        kit = item.config.stash[plugin.KIT]
        for seed in self.seeds if "rng" in item.fixturenames else [None]:
            if seed is not None:
                kit.seed = seed  # what the rng fixture seeds its generator with
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            item._initrequest()  # fresh fixtures for every run of the same item, as pytest-rerunfailures does
            for report in runtestprotocol(item, nextitem=nextitem, log=False):
                result = getattr(report, "kit", None)
                if result is not None:
                    self.results.append((seed, result))
        return True

    def pytest_sessionfinish(self, session):
        if self.out:
            Path(self.out).write_text(json.dumps(summarise(self.seeds, self.results)))


def summarise(seeds, results):
    """{"seeds", "max": {NN: M}, "earned": {seed: {NN: E}}, "failing": {nodeid: {...}}} of one session."""
    most, once, drawn, failing = {}, {}, {}, {}
    for seed, r in results:
        ex = r["check"]
        if seed is None or seed == seeds[0]:
            most[ex] = most.get(ex, 0) + r["max"]
        box = once if seed is None else drawn.setdefault(seed, {})
        box[ex] = box.get(ex, 0) + r["points"]
        if r["status"] != "pass":
            f = failing.setdefault(
                r["nodeid"], {"check": ex, "test": r["test"], "status": r["status"], "message": "", "seeds": []}
            )
            f["message"] = f["message"] or r["message"][:MESSAGE_CHARS]
            f["seeds"].append(seed)
    earned = {str(s): {ex: once.get(ex, 0) + drawn.get(s, {}).get(ex, 0) for ex in most} for s in seeds}
    return {"seeds": seeds, "max": most, "earned": earned, "failing": failing}


def merge(parts):
    """One summary of the same implementation's sessions over disjoint chunks of seeds."""
    out = {"seeds": [], "max": parts[0]["max"], "earned": {}, "failing": {}}
    for p in parts:
        out["seeds"] += p["seeds"]
        out["earned"].update(p["earned"])
        for nodeid, f in p["failing"].items():
            into = out["failing"].setdefault(nodeid, {**f, "seeds": []})
            into["seeds"] += f["seeds"]
    return out


# --- the driver ----------------------------------------------------------------------------------


def run_here(impl, seeds, exercises):
    """Sweep one implementation over `seeds` in this process; its summary."""
    with tempfile.TemporaryDirectory(prefix="kit-sweep-") as tmp:
        out = Path(tmp) / "sweep.json"
        extra = ["-p", "kit.dev.seeds", "--sweep-seeds", ",".join(map(str, seeds)), "--sweep-out", str(out)]
        # The per-test timeout covers one run of a test, not the test's runs at every seed.
        extra += ["-o", "timeout_func_only=true"]
        with contextlib.redirect_stdout(io.StringIO()):
            runner.run(exercises, impl=str(impl), extra=extra)
        if not out.exists():
            raise RuntimeError(f"the sweep of {impl} wrote no verdicts")
        return json.loads(out.read_text())


def run_apart(impl, seeds, exercises):
    """Sweep one implementation over `seeds` in a fresh process; its summary."""
    with tempfile.TemporaryDirectory(prefix="kit-sweep-") as tmp:
        out = Path(tmp) / "sweep.json"
        cmd = [sys.executable, "-m", "kit", "seeds", "--impl", str(impl), "--only", ",".join(exercises)]
        cmd += ["--seeds", ",".join(map(str, seeds)), "--jobs", "1", "--json", str(out), "--quiet"]
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not out.exists():
            raise RuntimeError(f"the sweep of {impl} wrote no verdicts:\n{proc.stdout[-2000:]}")
        return json.loads(out.read_text())[str(impl)]


def sweep(impls, seeds, exercises=None, jobs=2):
    """{impl: summary} of every implementation at every seed; `jobs` sessions at a time."""
    exercises = list(exercises or parse_ids("all"))
    impls = [str(i) for i in impls]
    if jobs <= 1:
        return {impl: run_here(impl, seeds, exercises) for impl in impls}
    size = -(-len(seeds) // jobs)  # every implementation in `jobs` chunks: no core idles at the end
    tasks = [(impl, seeds[i : i + size]) for impl in impls for i in range(0, len(seeds), size)]
    with ThreadPoolExecutor(jobs) as pool:
        parts = list(pool.map(lambda t: (t[0], run_apart(t[0], t[1], exercises)), tasks))
    return {impl: merge([p for i, p in parts if i == impl]) for impl in impls}


def short_of_full(summary):
    """{seed: [checks short of full marks at that seed]}, for the seeds where any is."""
    most = summary["max"]
    return {
        int(s): [ex for ex, e in sorted(earned.items()) if e < most[ex]]
        for s, earned in summary["earned"].items()
        if any(e < most[ex] for ex, e in earned.items())
    }


def describe(impl, summary, seconds=None):
    """The sweep of one implementation in a few lines."""
    n = len(summary["seeds"])
    took = f" ({seconds:.0f} s)" if seconds is not None else ""
    short = short_of_full(summary)
    if not short:
        return f"{impl}: every check at full marks at each of {n} seeds{took}"
    lines = [f"{impl}: short of full marks at {len(short)} of {n} seeds{took}"]
    for f in summary["failing"].values():
        where = "every seed" if None in f["seeds"] else f"{len(f['seeds'])} seeds, e.g. {f['seeds'][:5]}"
        lines.append(f"  check-{f['check']} {f['test']!r} ({f['status']}) at {where}:")
        lines.append("    " + f["message"].replace("\n", "\n    "))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", action="append", help=HELP_IMPL + "; repeat it for several (default: solutions/)")
    parser.add_argument("--count", type=int, default=50, help="how many random 128-bit seeds (default: 50)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds to use instead of random ones")
    parser.add_argument("--only", default="all", help="the checks to run: 03, 03,07 or all (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sessions at a time (default: cores)")
    parser.add_argument("--json", default=None, help="also write every implementation's summary to this file")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    try:
        exercises = parse_ids(args.only)
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else random_seeds(args.count)
    except ValueError as e:
        parser.error(str(e))
    impls = args.impl or [str(ROOT / "solutions")]
    for impl in impls:
        if not os.path.isdir(impl):
            parser.error(f"--impl {impl}: no such folder")
    start = time.monotonic()
    results = sweep(impls, seeds, exercises, jobs=args.jobs)
    seconds = time.monotonic() - start
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    if not args.quiet:
        for impl, summary in results.items():
            print(describe(impl, summary))
        print(f"{len(impls)} implementation(s) x {len(seeds)} seeds in {seconds:.0f} s with {args.jobs} job(s)")
    return 0 if not any(short_of_full(s) for s in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
