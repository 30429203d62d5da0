"""Gradescope: build autograder.zip, and the run step inside Gradescope's container.

    python -m kit gradescope [--out autograder.zip] [--secret FILE] [--only NN[,NN]]
                             [--visibility visible|hidden|after_due_date|after_published]
                             [--allow-unsandboxed] [--late-penalty RULE] [--adjustments FILE]  (make gradescope)
    python -m kit gradescope --run                                grade /autograder/submission

The zip follows Gradescope's autograder specification: `setup.sh` installs the kit (without
solutions/, whose engine's lines the copy check reads from kit/instructor/reference.json, or its
tests) into a virtual environment, and `run_autograder` grades the student's submission with the
kit's isolated grader (kit/instructor/grade.py) and writes /autograder/results/results.json with one
entry per test of the zip's checks (--only: one assignment per exercise), as visible as the zip says.
Learner code never runs as root, and never without a sandbox unless the zip was built with
--allow-unsandboxed. Where it cannot be isolated, or the grader itself fails, run_autograder writes
no results.json and exits 1: Gradescope then reports that the autograder failed to execute, records
no score, and the instructor reads why in the autograder's output and reruns. The root is
/autograder, or $KIT_AUTOGRADER_ROOT.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, argument, parse_ids
from kit.instructor import adjust, gradebook, scan
from kit.instructor.secret import SECRET_BYTES
from kit.platforms import lateness

# What the zip carries: the kit's code, never solutions/, the kit's own tests or its maintainers' tools.
PACKED = ("checks", "kit", "pyproject.toml", "README.md")
LEFT_OUT = ("__pycache__", "dev")  # folder names: bytecode, and kit/dev
SETTINGS = "gradescope.json"  # in the zip: the build's choices (never the secret)
SECRET = "secret"  # in the zip, mode 0600: the secret that seeds every student's inputs
# The specification's visibility of a test: always, never, after the due date, after grades are published.
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")

SUPPORTED = (
    "This autograder supports Gradescope's Ubuntu 22.04 and later base images: it needs Python 3.10 or "
    "later, and Ubuntu 18.04 and 20.04 ship an older one."
)

SETUP = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# {SUPPORTED}
set -euo pipefail
ROOT="${{KIT_AUTOGRADER_ROOT:-/autograder}}"
unsupported() {{ echo "{SUPPORTED} $1" >&2; exit 1; }}
. "${{KIT_OS_RELEASE:-/etc/os-release}}"
if [ "${{ID:-}}" = ubuntu ] && [ "${{VERSION_ID%%.*}}" -lt 22 ]; then
  unsupported "This image is Ubuntu $VERSION_ID."
fi
apt-get update -qq
# python3-venv brings ensurepip, so the venv has its own pip; bubblewrap is the sandbox.
apt-get install -y -qq --no-install-recommends python3 python3-venv bubblewrap
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || unsupported "Its python3 is $(python3 -V 2>&1)."
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --quiet -e "$ROOT/source"
chmod 600 "$ROOT/source/{SECRET}"
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; the results land in $ROOT/results/results.json.
ROOT="${KIT_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${KIT_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source" && exec "$PYTHON" -m kit gradescope --run
"""


def build(out, secret=None, allow_unsandboxed=False, only=None, visibility="visible", late=None, adjustments=None):
    """Write autograder.zip: setup.sh and run_autograder at its root, the kit beside them (lateness.checked: `late`)."""
    secret = secret if secret is not None else secrets.token_hex(32).encode()
    if len(secret.strip()) < SECRET_BYTES:
        raise ValueError(f"a secret needs at least {SECRET_BYTES} bytes (128 bits)")
    if visibility not in VISIBILITY:
        raise ValueError(f"visibility {visibility!r} is not one of {', '.join(VISIBILITY)}")
    only = [ex for ex in EXERCISES if ex in (only or EXERCISES)]
    chosen = {"allow_unsandboxed": bool(allow_unsandboxed), "only": only, "visibility": visibility, **(late or {})}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text, mode in (("setup.sh", SETUP, 0o755), ("run_autograder", RUN, 0o755), (SECRET, secret, 0o600)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, text)
        zf.writestr(SETTINGS, json.dumps(chosen) + "\n")
        zf.writestr(scan.REFERENCE.relative_to(ROOT).as_posix(), scan.reference())  # as solutions/ stays out
        if adjustments is not None:
            zf.writestr(lateness.ADJUSTMENTS, adjustments)
        for part in PACKED:
            path = ROOT / part
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                if not set(LEFT_OUT) & set(f.relative_to(ROOT).parts):
                    zf.write(f, f.relative_to(ROOT).as_posix())
    return out


def results_json(result, seconds, visibility="visible"):
    """Gradescope's results.json for one student's result from the grader: every test shown to the
    student as the zip's visibility says; the top-level output, shown at once, has points only where
    that is visible. The score is the zip's checks only. It holds learner-facing text alone."""
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
                    "visibility": visibility,
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
                    "visibility": visibility,
                }
            )
    summary = [f"check-{ex} {titles[ex]}: {c['earned']}/{c['max']}" for ex, c in sorted(result["checks"].items())]
    adjusted = [line for line in gradebook.adjust_lines(result) if not line.startswith("```")]
    notes = ["", "Notes on the files:", *(f"- {n}" for n in result["notes"])] if result.get("notes") else []
    if visibility != "visible":  # the top-level output is shown at once, whatever the visibility: no points in it
        summary = [f"This submission could not be graded: {result['reason']}."] if result["status"] != "graded" else []
        notes = notes if summary else notes[1:]
        if adjusted:  # the adjustments and the late penalty go with the tests, shown when they are
            said = "\n".join(adjusted).strip()
            tests.append({"name": "Adjustments", "score": 0, "max_score": 0, "output": said, "visibility": visibility})
            adjusted = []
    summary += adjusted + notes
    return {
        "score": gradebook.total(result),  # after the adjustments and the late penalty, where there are any
        "execution_time": round(seconds),
        "output": "\n".join(summary),
        # Shown as written: the top-level output's default format (simple_format) reads HTML, where a
        # file name in angle brackets in the notes would vanish; the tests' default, text, is pinned too.
        **dict.fromkeys(("output_format", "test_output_format", "test_name_format"), "text"),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def failed(root, reason):
    """An autograder failure: no results.json at all, so Gradescope reports that the autograder failed
    to execute and records no score (its specification), and the student reads only Gradescope's own
    words; the reason goes to the autograder's output, which only the instructor sees. Rerun it there."""
    (root / "results" / "results.json").unlink(missing_ok=True)
    print(f"Autograder failure, no score recorded: {reason}. Fix this and rerun the submission.", flush=True)
    return 1


def isolation(settings):
    """(mode, the sentence the instructor's output shows), or (None, why) when no allowed isolation works here."""
    from kit.instructor import sandbox

    try:
        choice = sandbox.choose("auto")
    except sandbox.Unavailable as e:
        if not settings.get("allow_unsandboxed"):
            return None, (
                f"the autograder cannot isolate the submission here ({e}); it refuses to run learner code "
                "without a sandbox, because the zip was built without --allow-unsandboxed"
            )
        choice = sandbox.choose("none")
        who = "an unprivileged user" if sandbox.is_root() else "the autograder's user"
        return "none", (
            "Isolation: none (the zip was built with --allow-unsandboxed and no sandbox works here): the "
            f"code ran as {who} with resource limits only."
        )
    sentence = f"Isolation: {choice.mode} sandbox; the code ran as an unprivileged user, without network."
    return choice.mode, sentence + (f" ({choice.warning})" if choice.warning else "")


def stage_submission(submission, subs):
    """Put the submission into `subs` as the one student of a class: a zip uploaded alone (no tree
    beside it) is unpacked by the grader's own safe rules; else the folder is copied without following
    links, but for what no copy can hold: folders deeper than `kit grade` looks, and paths too long."""
    from kit.instructor import collect, ids

    def special(folder, names):  # a named pipe, a device, a socket (copying one would block), or no room
        rel = Path(folder).relative_to(submission)
        room = 4095 - len(os.fsencode(subs / "submission" / rel))  # Linux's PATH_MAX, the final NUL left out
        kinds = {n: os.lstat(os.path.join(folder, n)).st_mode for n in names}
        keep = (S_ISREG, S_ISLNK) if len(rel.parts) >= 4 * collect.MAX_DEPTH else (S_ISREG, S_ISDIR, S_ISLNK)
        return {n for n, m in kinds.items() if len(os.fsencode(n)) >= room or not any(is_(m) for is_ in keep)}

    zips = [p for p in submission.iterdir() if p.suffix.lower() == ".zip" and p.is_file() and not p.is_symlink()]
    if ids.locate(submission) is None and len(zips) == 1:
        shutil.copyfile(zips[0], subs / "submission.zip")
    else:
        shutil.copytree(submission, subs / "submission", symlinks=True, ignore=special)


def run():
    """Grade $ROOT/submission as one student and write $ROOT/results/results.json (or, where the
    autograder cannot do its job, fail without one)."""
    root = Path(os.environ.get("KIT_AUTOGRADER_ROOT", "/autograder"))
    settings = json.loads((ROOT / SETTINGS).read_text()) if (ROOT / SETTINGS).exists() else {}
    only = settings.get("only") or list(EXERCISES)
    started = time.monotonic()
    (root / "results").mkdir(parents=True, exist_ok=True)
    mode, said = isolation(settings)
    print(said, flush=True)
    if mode is None:
        return failed(root, said)
    with tempfile.TemporaryDirectory(prefix="kit-gradescope-") as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "out"
        subs.mkdir()
        stage_submission(root / "submission", subs)
        cmd = [sys.executable, "-m", "kit", "grade", str(subs), str(out), "--jobs", "1", "--sandbox", mode]
        cmd += ["--only", ",".join(only)]
        if (ROOT / SECRET).is_file():
            os.chmod(ROOT / SECRET, 0o600)  # whatever the unzip did: root's alone
            cmd += ["--secret", str(ROOT / SECRET)]
        cmd += lateness.gradescope(settings, ROOT / lateness.ADJUSTMENTS, root / lateness.METADATA, Path(tmp))
        # The grade step returns once every process of the student's is gone; only then is results.json written.
        proc = subprocess.run(cmd, cwd=ROOT)
        grades = out / "grades.json"
        if proc.returncode != 0 or not grades.is_file():
            return failed(root, f"the grader failed (exit status {proc.returncode}; its log is above)")
        result = json.loads(grades.read_text())["students"][0]
        if result["status"] == "error":  # the grader's trouble, not the student's: no score
            return failed(root, f"the grader could not grade this submission ({result['reason']})")
        visibility = settings.get("visibility", "visible")
        results = results_json(result, time.monotonic() - started, visibility)
    (root / "results" / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit gradescope", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="autograder.zip", help="where to write the zip (default autograder.zip)")
    parser.add_argument(
        "--secret", default=None, help="file holding the secret that seeds the inputs (default: a new random one)"
    )
    parser.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="where no sandbox works, grade anyway with resource limits only (never as root); off by default",
    )
    parser.add_argument(
        "--only", type=argument(parse_ids), metavar="NN[,NN]", help="grade these checks only, for their points only"
    )
    parser.add_argument(
        "--visibility",
        choices=VISIBILITY,
        default="visible",
        help="when students see each test's result (Gradescope's visibility; default visible)",
    )
    lateness.options(parser)
    parser.add_argument("--run", action="store_true", help="grade /autograder/submission (inside Gradescope)")
    args = parser.parse_args(argv)
    if args.run:
        return run()
    secret = None
    if args.secret:
        try:
            secret = Path(args.secret).read_bytes()
        except OSError as e:
            parser.error(f"--secret {args.secret}: {e.strerror}")
    only = [ex for ex in EXERCISES if ex in (args.only or EXERCISES)]
    try:  # as kit grade checks them: a zip never carries a rule or a line that fails every run
        late, text = lateness.checked(args.late_penalty, args.late_cap, args.adjustments, only or list(EXERCISES))
    except adjust.Invalid as e:  # said as kit grade says it, where here it is the zip that is not made
        parser.error(str(e).replace("nothing was graded", "no zip was built"))
    try:
        out = build(Path(args.out), secret, args.allow_unsandboxed, only, args.visibility, late, text)
    except ValueError as e:
        parser.error(f"--secret {args.secret}: {e}")
    checks = ", ".join(f"check-{ex}" for ex in only)
    print(f"wrote {out}: {checks}, {sum(POINTS[ex] for ex in only)} points, tests {args.visibility}")
    print("upload it as the assignment's autograder (keep it private: it holds the secret)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
