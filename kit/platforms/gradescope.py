"""Gradescope: build autograder.zip, and the run step inside Gradescope's container.

    python -m kit gradescope [--out autograder.zip] [--seed S]    build the zip (make gradescope)
    python -m kit gradescope --run                                grade /autograder/submission

The zip follows Gradescope's autograder specification: `setup.sh` installs the kit (without
solutions/ or its tests) into a virtual environment, and `run_autograder` grades the student's
submission with the kit's isolated grader (kit/instructor/grade.py: an unprivileged user, bubblewrap) and
writes /autograder/results/results.json with one entry per test of every check. The root is
/autograder, or $KIT_AUTOGRADER_ROOT.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES

# What the zip carries: the kit's code, never solutions/, the kit's own tests or its maintainers' tools.
PACKED = ("checks", "kit", "pyproject.toml", "README.md")
LEFT_OUT = ("__pycache__", "dev")  # folder names: bytecode, and kit/dev

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap make
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet -e /autograder/source
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; the results land in $ROOT/results/results.json.
ROOT="${KIT_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${KIT_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source" && exec "$PYTHON" -m kit gradescope --run
"""


def build(out, seed):
    """Write autograder.zip: setup.sh and run_autograder at its root, the kit beside them."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            zf.writestr(info, text)
        zf.writestr("gradescope.json", json.dumps({"seed": seed}) + "\n")
        for part in PACKED:
            path = ROOT / part
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                if not set(LEFT_OUT) & set(f.relative_to(ROOT).parts):
                    zf.write(f, f.relative_to(ROOT).as_posix())
    return out


def results_json(result, seconds):
    """Gradescope's results.json for one student's result from the grader."""
    tests = []
    titles = {ex: e.title for ex, e in EXERCISES.items()}
    if result["status"] != "graded":
        for ex, c in sorted(result["checks"].items()):
            tests.append(
                {
                    "name": f"check-{ex} · {titles[ex]}",
                    "number": str(int(ex)),
                    "score": 0,
                    "max_score": c["max"],
                    "status": "failed",
                    "visibility": "visible",
                    "output": f"This submission could not be graded: {result['reason']}.",
                }
            )
    else:
        numbers = {}
        for t in result["tests"]:
            numbers[t["check"]] = numbers.get(t["check"], 0) + 1
            tests.append(
                {
                    "name": f"check-{t['check']} · {t['test']}",
                    "number": f"{int(t['check'])}.{numbers[t['check']]}",
                    "score": t["points"],
                    "max_score": t["max"],
                    "status": "passed" if t["status"] == "pass" else "failed",
                    "output": t["message"],
                    "visibility": "visible",
                }
            )
    summary = [f"check-{ex} {titles[ex]}: {c['earned']}/{c['max']}" for ex, c in sorted(result["checks"].items())]
    if result.get("notes"):
        summary += ["", "Notes on the files:", *(f"- {n}" for n in result["notes"])]
    return {
        "score": sum(c["earned"] for c in result["checks"].values()),
        "execution_time": round(seconds),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run():
    """Grade $ROOT/submission as one student and write $ROOT/results/results.json."""
    from kit.instructor.grade import main as grade

    root = Path(os.environ.get("KIT_AUTOGRADER_ROOT", "/autograder"))
    settings = json.loads((ROOT / "gradescope.json").read_text()) if (ROOT / "gradescope.json").exists() else {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kit-gradescope-") as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "out"
        subs.mkdir()
        # The submission, copied without following links, as the one student of a class.
        shutil.copytree(root / "submission", subs / "submission", symlinks=True)
        grade([str(subs), str(out), "--jobs", "1", "--seed", str(settings.get("seed", 1))])
        result = json.loads((out / "grades.json").read_text())["students"][0]
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(
        json.dumps(results_json(result, time.monotonic() - started), indent=1) + "\n"
    )
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit gradescope", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="autograder.zip", help="where to write the zip (default autograder.zip)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the checks' random inputs (keep it secret)")
    parser.add_argument("--run", action="store_true", help="grade /autograder/submission (inside Gradescope)")
    args = parser.parse_args(argv)
    if args.run:
        return run()
    print(f"wrote {build(Path(args.out), args.seed)}: upload it as the assignment's autograder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
