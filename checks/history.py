"""Which checks have passed on a learner's tree before, so that a banner can say "no longer passes".

Kept in the kit's .kit/passed.json (beside the hints' state), keyed by the tree's resolved path.
Only a learner's own runs read or write it: a grader's fenced run depends on nothing but the tree.
"""

import json
import os
import tempfile
from pathlib import Path

from kit import ROOT

STATE = ROOT / ".kit" / "passed.json"


def _read(state):
    try:
        data = json.loads(Path(state).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def passed(impl, state=STATE):
    """The exercises whose check has earned full marks on `impl` before."""
    return set(_read(state).get(str(Path(impl).resolve()), []))


def record(impl, full_marks, state=STATE):
    """Remember that the checks of `full_marks` earned full marks on `impl`; never fails a check."""
    key, data = str(Path(impl).resolve()), _read(state)
    known = set(data.get(key, []))
    if set(full_marks) <= known:
        return
    data[key] = sorted(known | set(full_marks))
    try:
        Path(state).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=Path(state).parent, delete=False, suffix=".tmp") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(f.name, state)
    except OSError:  # a read-only kit: the banner just cannot say "no longer"
        pass
