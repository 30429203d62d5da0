"""The checks' report: the lines a learner reads, and the machine-readable JSON.

One `Report` collects every test's result as a plain dict (check, test, status, points, max,
message, mistake) and prints it as it comes: a header per check, a PASS/FAIL/TODO line per test,
`check-NN: E/M points` at the end of each check, and a summary table when several ran. The JSON
also keeps each check's lines as printed (`printed`), for watch mode to show.
"""

import json
import os
import textwrap
from pathlib import Path

from kit.exercises import EXERCISES, doc_path
from kit.term import paint

LABELS = {"pass": "PASS", "todo": "TODO"}  # every other status prints as FAIL
COLOURS = {"PASS": "green", "TODO": "yellow", "FAIL": "red"}


def totals(results):
    return sum(r["points"] for r in results), sum(r["max"] for r in results)


class Report:
    def __init__(self, out, impl, seed):
        self.out, self.impl, self.seed = out, impl, seed
        self.results = {}  # ex -> [result dict]
        self.current = None  # the check being printed
        self.review = []  # [{check, test, reason}]: what a person should look at (tampering)
        self.bases = {}  # ex -> the exercises the kit's code stood in for (checks/base/), [] for none
        self.printed = {}  # ex -> its lines as printed, from its header to its score line

    def write(self, text=""):
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except BrokenPipeError:  # the reader left (`| head`): stop writing, keep grading
            self.out = open(os.devnull, "w")
        if self.current is not None:
            self.printed[self.current] += text + "\n"

    def start_check(self, ex, banner=None, base=()):
        self.finish_check()
        self.current = ex
        self.results.setdefault(ex, [])
        self.bases[ex] = list(base)
        self.printed.setdefault(ex, "")
        try:
            shown = self.impl.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = self.impl
        self.write(f"check-{ex} · {EXERCISES[ex].title}")
        self.write(f"grading {shown}/ with seed {self.seed} · lesson: {doc_path(ex)}")
        if banner:
            self.write(banner)
        self.write()

    def add(self, result):
        self.results.setdefault(result["check"], []).append(result)
        label = LABELS.get(result["status"], "FAIL")
        label = paint(label, COLOURS[label], self.out)  # on a terminal only, never piped or with NO_COLOR
        self.write(f"  {label}  {result['points']}/{result['max']}  {result['test']}")
        if result["message"]:
            self.write(textwrap.indent(result["message"], " " * 13))

    def finish_check(self):
        if self.current is None:
            return
        earned, most = totals(self.results[self.current])
        self.write()
        self.write(f"check-{self.current}: {earned}/{most} points")
        self.current = None

    def everything(self):
        return [r for rs in self.results.values() for r in rs]

    def finish(self):
        """Close the last check; with several, print the summary table and the total line."""
        self.finish_check()
        if len(self.results) > 1:
            self.write()
            self.write("check     points")
            for ex, results in sorted(self.results.items()):
                earned, most = totals(results)
                self.write(f"check-{ex}  {earned}/{most}")
            earned, most = totals(self.everything())
            self.write(f"total: {earned}/{most} points")

    def as_json(self):
        return {
            "impl": str(self.impl),
            "seed": self.seed,
            "checks": {
                ex: {**dict(zip(("earned", "max"), totals(rs))), "base": self.bases.get(ex, [])}
                for ex, rs in self.results.items()
            },
            "tests": self.everything(),
            "review": self.review,
            "printed": self.printed,
        }

    def save(self, path, interrupted=False):
        """Write the JSON report whole or not at all: it is never read half written. An interrupted
        run's says so (`"interrupted": true`): its checks and tests are those that finished."""
        path = Path(path)
        data = {**self.as_json(), **({"interrupted": True} if interrupted else {})}
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            part.write_text(json.dumps(data, indent=1))
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
