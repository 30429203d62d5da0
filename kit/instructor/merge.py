"""Merge the gradebooks of shards graded on several machines into one.

    python -m kit merge OUT SHARD_OUT [SHARD_OUT ...]      (make merge-grades OUT=DIR SHARDS="A B")

Each shard is the OUT folder of `python -m kit grade` over part of the class, with the same seed
and checks, by the same kit. The merge is deterministic (students sorted by id, whatever the order of
the shards), records the shards' kit, and refuses what cannot be merged honestly: shards graded by
other kits or with other settings, a shard whose grades.csv disagrees with its grades.json, one
student graded differently in two shards or under two ids that kit grade reads as one (`Alice` and
`alice`), or a shard that is not as the grader writes one (an id the grader never gives, such as
`../x`; points outside a check's bounds; an unknown status), before anything is written.
"""

import argparse
import csv
import io
import sys
from pathlib import Path

from kit import untrusted
from kit.escape import escape_line
from kit.instructor import collect, gradebook, ids

SHARD_MAX = 1 << 30  # bytes of a shard's grades.json (about 19 KB a student) or grades.csv: 50,000 students


class Conflict(Exception):
    pass


def checked(shard, data):
    """`data` (a shard's grades.json) where every student is as `kit grade` writes one (gradebook.checked)
    and has an id by the grader's rule; else Conflict."""
    try:
        gradebook.checked(data)
    except gradebook.Invalid as e:
        raise Conflict(f"{shard}: {e}") from None
    for r in data["students"]:
        if not collect.SAFE_ID.fullmatch(r["id"]):
            raise Conflict(f"{shard}: student id {gradebook.shown(r['id'], 120)} is not one the grader gives")
    return data


def read(shard, name):
    """The UTF-8 text of the shard's file `name`, read as a file from outside (kit/untrusted.py): the file the
    grader wrote, never through a link, never waiting on a pipe, and no larger than a shard's may be."""
    try:
        return untrusted.read_text(shard / name, SHARD_MAX)
    except untrusted.NotText as e:
        raise untrusted.NotText(f"{name} {e}") from None


def load(shard):
    shard = Path(shard)
    try:
        data = checked(shard, gradebook.loads(read(shard, "grades.json")))
        rows = {row["student"]: row for row in csv.DictReader(io.StringIO(read(shard, "grades.csv"), newline=""))}
    except (OSError, ValueError, KeyError, csv.Error) as e:
        raise Conflict(f"{shard}: not a gradebook ({escape_line(e)})") from None
    table = {row["student"]: row for row in csv.DictReader(gradebook.csv_text(data["students"]).splitlines())}
    if rows != table:
        raise Conflict(f"{shard}: grades.csv does not match grades.json; regrade or restore this shard")
    return data


def one_kit(loaded):
    """The kit stamp (kit/version.py) all `loaded` shards [(shard, grades.json)] share, or Conflict naming
    each shard's: merged, they would read as graded by one kit."""
    stamps = {shard: data.get("kit_version") for shard, data in loaded}
    first = next(iter(stamps.values()), None)  # None: a gradebook written before grades.json recorded one
    if any(stamp != first for stamp in stamps.values()):
        listed = "; ".join(
            f"{shard}: {gradebook.shown(stamp, 70) if stamp else 'none'}" for shard, stamp in stamps.items()
        )
        raise Conflict(f"shards graded by different kits (kit_version {listed}): regrade them with one kit")
    return first


def merge(shards):
    """(settings, the shards' kit stamp, results) of all shards, or Conflict."""
    loaded = [(shard, load(shard)) for shard in shards]
    kit = one_kit(loaded)
    settings, merged, origin, named = None, {}, {}, {}  # named: ids.key of the id as submitted -> id
    for shard, data in loaded:
        these = {k: v for k, v in data.items() if k not in ("students", "adjustments", *gradebook.STAMPS)}
        if settings is None:
            settings = these
        elif these != settings:
            raise Conflict(f"{shard} was graded with {differences(these, settings)}: regrade it to match")
        for r in data["students"]:
            sid = r["id"]
            if sid in merged and strip(merged[sid]) != strip(r):
                kept = graded_over(merged[sid], r)
                if kept is None:
                    raise Conflict(f"student {sid} has different results in {origin[sid]} and {shard}")
                if kept is r:
                    merged[sid], origin[sid] = r, shard
            twin = named.setdefault(ids.key(ids.submitted(r)), sid)
            if twin != sid:
                raise Conflict(
                    f"{twin} in {origin[twin]} and {sid} in {shard} are one student under two ids (the same once "
                    "accents are composed and case is ignored, as kit grade reads ids): keep one, and regrade the "
                    "shard of the other"
                )
            merged.setdefault(sid, r)
            origin.setdefault(sid, shard)
    return adjusted(settings or {}, loaded), kit, [merged[sid] for sid in sorted(merged)]


def graded_over(one, other):
    """Of two results of one student, the one a merge keeps where one is a grader error (the grader's
    own failure, graded again on a re-run: not a grade) and the other a grade of the same bytes (or of
    bytes the error never staged); None where they are two grades, two errors, or of other bytes."""
    errors = [r for r in (one, other) if r.get("status") == "error"]
    if len(errors) != 1:
        return None
    error, graded = errors[0], other if errors[0] is one else one
    same = error.get("fingerprint") in (None, graded.get("fingerprint"))
    return graded if same else None


def adjusted(settings, loaded):
    """`settings` with `adjustments` (whether any was applied) true where any shard's is: each shard's file names
    only its own students (kit grade refuses others), so a shard with none is graded alike. In kit grade's place:
    before the deadline where one is set (every shard then says it), else last."""
    said = [bool(data["adjustments"]) for _, data in loaded if "adjustments" in data]
    if not said:
        return settings
    items = list(settings.items())
    at = list(settings).index("deadline") if "deadline" in settings else len(items)
    return dict([*items[:at], ("adjustments", any(said)), *items[at:]])


def differences(these, others):
    """The settings in which a shard differs from the others, each as a message may quote it (bounded, escaped)."""
    keys = sorted((k for k in {*these, *others} if these.get(k) != others.get(k)), key=str)
    shown = gradebook.shown
    said = [f"{shown(k, 40)}: {shown(these.get(k))} here, {shown(others.get(k))} in the others" for k in keys[:5]]
    more = f"; and {len(keys) - 5} more" if len(keys) > 5 else ""
    return f"other settings ({'; '.join(said)}{more})"


def strip(result):
    """A result without what may differ between two honest gradings of the same submission."""
    return {k: v for k, v in result.items() if k not in ("leftovers", "graded_at", "python")}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder for the merged grades.csv, grades.json and feedback/")
    parser.add_argument("shards", nargs="+", help="the OUT folders of the shards")
    args = parser.parse_args(argv)
    try:
        settings, kit, results = merge(args.shards)
    except Conflict as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        gradebook.write(args.out, results, settings, kit)
    except OSError as e:  # the folder given, not a shard: a file, a full disk, no permission
        print(f"error: {escape_line(args.out)}: cannot write the merged gradebook ({escape_line(e)})", file=sys.stderr)
        return 1
    print(f"merged {len(args.shards)} shards: {len(results)} students into {Path(args.out) / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
