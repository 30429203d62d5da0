"""The reference engine against PyPI micrograd: time and memory per node, and deep chains."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.dev.bench.timing import PYPI_MICROGRAD, med


def engine(runs):
    with tempfile.TemporaryDirectory() as tmp:
        pypi = Path(tmp) / "pypi"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(pypi),
                PYPI_MICROGRAD,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        engines = {"kit (solutions/)": ROOT / "solutions", f"PyPI {PYPI_MICROGRAD}": pypi}

        def measure(path, *what):
            out = subprocess.run(
                [sys.executable, str(ROOT / "kit" / "dev" / "bench_engine.py"), str(path), *what],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return json.loads(out)

        steps = {name: [] for name in engines}
        for _ in range(runs):  # alternate the engines, so that drift in the machine hits both
            for name, path in engines.items():
                steps[name].append(measure(path, "step"))
        rest = {name: measure(path, "chains", "memory") for name, path in engines.items()}
    (ours, theirs) = engines
    nodes = steps[ours][0]["step"]["nodes"]
    modes = {"step": "collector on (as a learner runs it)", "step_no_gc": "collector off (the engine's own work)"}
    per = {
        (name, mode): {
            phase: med([s[mode][f"{phase}_s"] for s in steps[name]]) / nodes * 1e9 for phase in ("forward", "backward")
        }
        for name in engines
        for mode in modes
    }
    rows = [
        f"`python kit/dev/bench_engine.py DIR` in a fresh process per run, engines alternating; {runs} runs. "
        f"One training step of a 2-16-16-1 MLP (relu, as the PyPI engine has no tanh) on 100 two-moons "
        f"points: {nodes:,} graph nodes. Median nanoseconds per node, with Python's cyclic garbage "
        "collector on and off: both engines tie every node in reference cycles (a node and its "
        "_backward closure), so with the collector on its repeated scans dominate the forward pass.",
        "",
        "| engine | garbage collector | forward ns/node | backward ns/node |",
        "|---|---|---|---|",
    ]
    for mode, label in modes.items():
        for name in engines:
            rows.append(f"| {name} | {label} | {per[name, mode]['forward']:.0f} | {per[name, mode]['backward']:.0f} |")
    ratio = {
        (mode, phase): per[theirs, mode][phase] / per[ours, mode][phase]
        for mode in modes
        for phase in ("forward", "backward")
    }
    mem = rest[ours]["memory_per_node"] / rest[theirs]["memory_per_node"]
    rows += [
        "",
        "Ratios, PyPI time / kit time (above 1: the kit is faster): "
        + "; ".join(
            f"{label}: forward {ratio[mode, 'forward']:.2f}, backward {ratio[mode, 'backward']:.2f}"
            for mode, label in modes.items()
        )
        + ".",
        "",
        "| engine | peak memory per node of a 100,000-node chain |",
        "|---|---|",
    ]
    rows += [f"| {name} | {rest[name]['memory_per_node']:.0f} bytes |" for name in engines]
    rows += [
        "",
        f"The kit's memory per node is {mem:.2f}x PyPI's.",
        "",
        "Chains of additions, `y = y + c` repeated (build, then `y.backward()`), seconds:",
        "",
        "| nodes | " + " | ".join(engines) + " |",
        "|---|---|---|",
    ]
    for n in rest[ours]["chains"]:
        cells = []
        for name in engines:
            c = rest[name]["chains"][n]
            cells.append(
                f"build {c['build_s']:.3f}, backward "
                + (f"{c['backward_s']:.3f}" if "error" not in c else f"**{c['error']}**")
            )
        rows.append(f"| {int(n):,} | " + " | ".join(cells) + " |")
    own = [ratio["step_no_gc", "forward"], ratio["step_no_gc", "backward"]]
    scans = 1 - per[ours, "step_no_gc"]["forward"] / per[ours, "step"]["forward"]  # measured, not claimed
    met = min(own) >= 1 and mem <= 1
    rows += [
        "",
        "Targets, at least as fast per node in the engine's own work and at most the memory per node: "
        + ("**met**." if met else f"**missed**: forward {own[0]:.2f}, backward {own[1]:.2f}, memory {mem:.2f}.")
        + f" With the collector on, its scans are {scans:.0%} of the kit's forward time, as a learner runs it.",
    ]
    return rows
