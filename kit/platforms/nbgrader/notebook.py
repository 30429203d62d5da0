"""Inside a course notebook: save its code cells into impl/ and run the kit's check on impl/.

This is the learner's practice feedback (running the notebook, or `nbgrader validate`): every cell
of a notebook runs in one kernel, so a learner can change what it prints. Grades never come from
here: `python -m kit nbgrader grade` takes the code out of the submitted notebooks and grades it
with the kit's isolated grader (kit/platforms/nbgrader/grade.py).

It needs the standard library, IPython and the installed kit (`pip install micrograd-kit`, see
docs/instructor/nbgrader.md): no path of the machine that wrote the course.
"""

import hashlib
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from kit.exercises import TREE

IMPL = "impl"  # the learner's tree, next to the notebook
CHECK_TIMEOUT = 60  # seconds one check may take, as in `make grade`
RUN_TIMEOUT = 150  # seconds until a check that still runs is given up


def holds(source, path):
    """Whether a cell's code is the file `path` to the save cell: its first line is `# <path>`.
    kit/platforms/nbgrader/extract.py takes a submitted file by the same rule."""
    return source.split("\n", 1)[0].strip() == f"# {path}"


class Exercise:
    """The notebook's side of exercise `ex`: save code cells into impl/, grade impl/ with the check."""

    def __init__(self, ex, python=None):
        self.ex, self.python = ex, python or sys.executable
        self.impl = Path(IMPL).resolve()
        self.reports = {}  # digest of impl/ -> the check's JSON report
        if str(self.impl) not in sys.path:
            sys.path.insert(0, str(self.impl))  # so that a later cell can import the saved files

    def save(self, *paths):
        """Write the last cell run that starts with the line `# <path>` into impl/<path>."""
        from IPython import get_ipython

        history = get_ipython().history_manager.input_hist_raw
        for path in paths:
            source = next((s for s in reversed(history) if holds(s, path)), None)
            if source is None:
                raise RuntimeError(
                    f"No cell starting with the line `# {path}` has run yet: run it, "
                    "then this cell. (Keep that first line: it is how this cell finds your code.)"
                )
            target = self.impl / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.rstrip("\n") + "\n", encoding="utf-8")
            print(f"saved {IMPL}/{path}")
        for name in map(module_name, TREE):
            sys.modules.pop(name, None)  # the next import reads the files just saved
        importlib.invalidate_caches()

    def check(self, test):
        """Pass when `test` of the check passes on impl/; else fail with the kit's message."""
        results = [t for t in self.report()["tests"] if grade_id(t) == test]
        if not results:
            raise AssertionError(f"check-{self.ex} did not run {test}.")
        failed = [t for t in results if t["status"] != "pass"]
        if failed:
            raise AssertionError("\n\n".join(t["message"] or t["status"] for t in failed))
        print(f"PASS  {sum(t['points'] for t in results)}/{sum(t['max'] for t in results)}  {results[0]['test']}")

    def report(self):
        """The check's report on impl/, run again only when a file of impl/ changed."""
        digest = hashlib.sha256()
        for path in sorted(self.impl.rglob("*.py")) if self.impl.is_dir() else []:
            digest.update(str(path.relative_to(self.impl)).encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        if key not in self.reports:
            self.reports = {key: self.run_check()}
        return self.reports[key]

    def run_check(self):
        # Run from a scratch folder, so that nothing next to the notebook can stand in for the kit.
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            cmd = [self.python, "-m", "kit", "check", self.ex, "--impl", str(self.impl), "--report", str(report)]
            cmd += ["--check-timeout", str(CHECK_TIMEOUT)]
            try:
                proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"check-{self.ex} did not finish within {RUN_TIMEOUT} s.") from None
            if not report.is_file():
                output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
                raise AssertionError(f"check-{self.ex} could not run:\n{output}")
            return json.loads(report.read_text())


def grade_id(result):
    """The test function a result of the report belongs to: the grade id of its notebook cell."""
    return result["nodeid"].split("::")[-1].split("[")[0]


def module_name(path):
    """micrograd/engine.py -> micrograd.engine; micrograd/__init__.py -> micrograd."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
