"""Similar submissions, for the class report's optional section (`kit report --similarity`).

copydetect's winnowed fingerprints compare what each submission staged, with the starter stubs as
boilerplate; nothing is run. Only the first MAX_TEXT characters of each submission are compared, the
learner's tree first: an honest one is a tenth of that, and tokenising costs about 35 s per MB.
"""

import io
import shutil
import tempfile
from pathlib import Path

from kit import ROOT
from kit.errors import KitError
from kit.exercises import TREE

MAX_TEXT = 100_000


def similar_pairs(submissions, top):
    """([(a, b, share of a found in b, share of b found in a)], [students not compared]), the most
    similar first, as copydetect's winnowed fingerprints measure them with the starter stubs as
    boilerplate. Each submission is unpacked and staged exactly as grading does, and all of the
    Python it staged is compared."""
    try:
        import copydetect
    except ImportError:
        raise KitError("--similarity needs copydetect, in the report extra: pip install -e '.[report]'") from None
    from copydetect import defaults

    from kit.instructor import collect, ids

    k, window = defaults.NOISE_THRESHOLD, defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1

    def fingerprint(tree, boilerplate=()):
        files = sorted(p for p in tree.rglob("*.py") if p.is_file() and not p.is_symlink())
        files.sort(key=lambda p: p.relative_to(tree).as_posix() not in TREE)  # the learner's tree first
        text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)[:MAX_TEXT]
        return copydetect.CodeFingerprint(
            "tree.py", k, window, boilerplate=list(boilerplate), language="python", fp=io.StringIO(text)
        )

    stubs = fingerprint(ROOT / "exercises").hashes
    prints, skipped = {}, []
    with tempfile.TemporaryDirectory(prefix="kit-similar-") as scratch:
        for sid, path, _, twice in ids.find(submissions):
            if twice:  # not graded, so not compared
                skipped.append(sid)
                continue
            home = Path(scratch) / sid
            home.mkdir()
            try:
                collect.collect(path, home)
                prints[sid] = fingerprint(home / "tree", stubs)
            except Exception:  # noqa: BLE001 - one upload costs only its own place in the comparison
                skipped.append(sid)
            shutil.rmtree(home, ignore_errors=True)
    graded = sorted(prints)
    pairs = []
    for i, a in enumerate(graded):
        for b in graded[i + 1 :]:
            overlap, (share_a, share_b), _ = copydetect.compare_files(prints[a], prints[b])
            if overlap:
                pairs.append((a, b, float(share_a), float(share_b)))
    # Most shared both ways first: a partial solution is contained in every fuller one, so the
    # share of one side alone would rank honest pairs first.
    pairs.sort(key=lambda p: (-(p[2] + p[3]), -max(p[2], p[3]), p[0], p[1]))
    return pairs[:top], skipped
