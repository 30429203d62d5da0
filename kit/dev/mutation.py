"""Mutation testing: how many small changes to solutions/ the checks notice.

    python -m kit mutation [--min-score 90]

Runs cosmic-ray (the `mutation` extra) over a scratch copy of the kit: each mutant is one small
edit of a solution file (an operator swapped, a number changed, a comparison flipped), and the
seven checks are its test suite. A mutant is killed when the checks lose a point. Prints the
score and every survivor, and exits 1 when the score is under --min-score percent.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.exercises import TREE
from kit.regions import regions

CONFIG = """\
[cosmic-ray]
module-path = {modules}
timeout = 60.0
excluded-modules = []
test-command = "{python} -m kit mutation --test-mutant"

[cosmic-ray.distributor]
name = "local"
"""


def own_checks(solutions=ROOT / "solutions"):
    """{solution file: the exercises whose regions it holds}: a mutant must be caught by their checks."""
    found = {}
    for rel in TREE:
        exercises = sorted({ex for ex, _ in regions((Path(solutions) / rel).read_text(encoding="utf-8"), rel)})
        if exercises:
            found[rel] = exercises
    return found


CHECKS = own_checks()


def test_mutant():
    """The test command: run the checks of the one solution file that differs from pristine/."""
    from kit.runner import run as run_checks

    changed = [rel for rel in CHECKS if (Path("solutions") / rel).read_bytes() != (Path("pristine") / rel).read_bytes()]
    exercises = sorted({ex for rel in changed for ex in CHECKS[rel]}) or ["01"]
    return run_checks(exercises, impl="solutions", fail_fast=True, timeout=10)


def cosmic_ray():
    tool = Path(sys.executable).with_name("cosmic-ray")
    if not tool.exists():
        sys.exit("cosmic-ray is not installed: pip install -e '.[mutation]' (make mutation does it)")
    return str(tool)


def prepare(work):
    """A scratch copy of the kit in `work`, with pristine/ beside solutions/ and cosmic-ray's cr.toml."""
    for part in ("checks", "kit", "solutions"):
        shutil.copytree(ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", work / "pristine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", work)
    modules = json.dumps([f"solutions/{rel}" for rel in CHECKS])
    (work / "cr.toml").write_text(CONFIG.format(modules=modules, python=sys.executable))


def run(work):
    """Initialise and execute a cosmic-ray session in `work`; returns its dump, one job a row."""
    prepare(work)
    tool = cosmic_ray()
    subprocess.run([tool, "init", "cr.toml", "session.sqlite"], cwd=work, check=True)
    subprocess.run([tool, "exec", "cr.toml", "session.sqlite"], cwd=work, check=True)
    dump = subprocess.run([tool, "dump", "session.sqlite"], cwd=work, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in dump.stdout.splitlines() if line.strip()]


def summarise(rows):
    outcomes = {}
    survivors = []
    for job, result in rows:
        outcome = (result or {}).get("test_outcome", "not run")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "survived":
            m = job["mutations"][0]
            changed = [
                line
                for line in result.get("diff", "").splitlines()
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            survivors.append((m["module_path"], m["start_pos"][0], m["operator_name"], changed))
    judged = outcomes.get("killed", 0) + outcomes.get("survived", 0)
    score = 100.0 * outcomes.get("killed", 0) / judged if judged else 0.0
    return score, outcomes, sorted(survivors)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-score", type=float, default=90.0, help="percent of mutants to kill (default 90)")
    parser.add_argument("--test-mutant", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.test_mutant:
        return test_mutant()
    with tempfile.TemporaryDirectory() as tmp:
        score, outcomes, survivors = summarise(run(Path(tmp)))
    print(f"mutants: {sum(outcomes.values())} ({', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))})")
    for path, line, operator, changed in survivors:
        print(f"survived: {path}:{line} {operator}: {' / '.join(c.strip() for c in changed)}")
    print(f"mutation score: {score:.1f}% of mutants killed (target {args.min_score:g}%)")
    return 0 if score >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
