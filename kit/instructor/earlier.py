"""What an earlier run into OUT settled, and a re-run that would undo it by accident (kit grade).

A re-run into the same OUT keeps every student's grade of the same bytes, and rewrites the gradebook
from the options it is given. So a run that forgets one of them quietly changes the whole class: no
--secret (a new OUT/.secret: every student's inputs drawn anew), an --only without checks the
gradebook holds (their grades gone from it), no --adjustments or --deadline where the gradebook
applied them (every student back to the raw points). Each is refused before anything is graded or
written, naming what to give again; --force says the change is meant.
"""

import json

from kit.escape import escape_line

HEAD = 1 << 20  # bytes of grades.json read: its settings come before the students (gradebook.write)


def settled(path):
    """The settings at the head of the grades.json at `path` (`kit grade` writes them before the
    students), or {} where there is none, or it is not one `kit grade` wrote."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(HEAD)
    except OSError:
        return {}
    cut = head.find('\n "students": [')
    try:
        data = json.loads(head[:cut].rstrip().rstrip(",") + "}") if cut > 0 else {}
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def undone(earlier, settings, plan, made, student=None):
    """What this run would undo of `earlier` (a gradebook's settings): [problem] in words. `settings`:
    this run's secret id and checks; `plan`: the settings its adjustments and deadline give
    (adjust.Plan.settings); `made`: whether this run made OUT/.secret (no --secret or --seed);
    `student`: the one id graded (--student), whom alone more checks would reach."""
    problems = []
    held = [ex for ex in earlier.get("only") or [] if isinstance(ex, str)]
    more = [ex for ex in settings["only"] if ex not in held]
    if student and held and more:
        problems.append(
            f"its grades are of check-{', check-'.join(escape_line(ex[:2]) for ex in held)}, and this run adds "
            f"check-{', check-'.join(more)} for {escape_line(student)} alone: the others' grades would leave the "
            "gradebook; give the gradebook's --only, or grade the class without --student"
        )
    if isinstance(earlier.get("secret"), str) and earlier["secret"] != settings["secret"]:
        how = "OUT/.secret was made now, as no --secret was given" if made else "another --secret or --seed"
        problems.append(
            f"its grades were drawn with the secret {escape_line(earlier['secret'][:16])}, this run's is "
            f"{settings['secret']} ({how}): every student's inputs would be drawn anew; give the same --secret"
        )
    gone = [ex for ex in earlier.get("only") or [] if isinstance(ex, str) and ex not in settings["only"]]
    if gone:
        problems.append(
            f"it holds grades of check-{', check-'.join(escape_line(ex[:2]) for ex in gone)}, which this run "
            f"(--only {','.join(settings['only'])}) does not grade: they would leave the gradebook; grade into "
            "another OUT (one per week: out/ex03), or grade them too"
        )
    if earlier.get("adjustments") is True and not plan.get("adjustments"):
        problems.append("it applied --adjustments, which this run does not: give the same file again")
    if earlier.get("deadline") and not plan.get("deadline"):
        problems.append(
            "it applied a --deadline and its late penalty, which this run does not: give --deadline, "
            "--late-penalty, --late-cap, --extensions and --times again"
        )
    return problems
