"""Which checks have passed on a learner's tree before, so that a banner can say "no longer passes".

Kept in the kit's .kit/passed.json (beside the hints' state; in the user's cache folder where the
kit's folder is read-only: kit/state.py), keyed by the tree's resolved path.
Only a learner's own runs read or write it: a grader's fenced run depends on nothing but the tree.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

from kit import state as places


def state_file():
    return places.place(".kit") / "passed.json"


def _read(state):
    try:
        data = json.loads(Path(state).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def passed(impl, state=None):
    """The exercises whose check has earned full marks on `impl` before."""
    return set(_read(state or state_file()).get(str(Path(impl).resolve()), []))


def record(impl, full_marks, state=None):
    """Remember that the checks of `full_marks` earned full marks on `impl`; never fails a check."""
    key = str(Path(impl).resolve())
    state = state or state_file()
    if set(full_marks) <= set(_read(state).get(key, [])):
        return
    try:
        Path(state).parent.mkdir(parents=True, exist_ok=True)
        # Runs at once (watch mode's two, a make check beside it) each read, add and write: the lock
        # makes that one step, so that none writes back a copy without another's passes.
        with _locked(state):
            data = _read(state)
            data[key] = sorted(set(data.get(key, [])) | set(full_marks))
            with tempfile.NamedTemporaryFile("w", dir=Path(state).parent, delete=False, suffix=".tmp") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(f.name, state)
    except OSError:  # a read-only kit: the banner just cannot say "no longer"
        pass


@contextlib.contextmanager
def _locked(state):
    """Hold the lock of `state` (a file beside it, for the writers of the state to take in turn)."""
    with open(f"{state}.lock", "a+b") as lock:
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)
        else:
            lock.seek(0)
            msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if fcntl:
                fcntl.flock(lock, fcntl.LOCK_UN)
            else:
                lock.seek(0)
                msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)
