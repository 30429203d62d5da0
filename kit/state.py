"""Where the kit keeps what it writes for a learner: the hints seen, the checks passed, the demo's picture,
explain's pictures and steps page.

In the kit's own folder (.kit/ and out/) where the learner can write there; in the user's cache
folder where not (a shared install in a lab, a read-only checkout): $XDG_CACHE_HOME/micrograd-kit
or ~/.cache/micrograd-kit on Linux, ~/Library/Caches/micrograd-kit on macOS,
%LOCALAPPDATA%\\micrograd-kit on Windows. The move is said once, when that folder is first made.
"""

import os
import sys
from pathlib import Path

from kit import ROOT

NAME = "micrograd-kit"
WINDOWS = os.name == "nt"


def writable(path):
    """Whether files can be made at `path`: the nearest folder that exists on the way up is writable."""
    path = Path(path).absolute()
    try:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path.is_dir() and os.access(path, os.W_OK | os.X_OK)
    except OSError:  # a folder on the way that this user may not enter
        return False


def cache_home():
    """The user's cache folder for the kit, by the platform's convention."""
    if WINDOWS:
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / NAME


def place(name):
    """ROOT/name (".kit", "out") where the learner can write it, else the same name in the cache folder."""
    own = ROOT / name
    if writable(own):
        return own
    cache = cache_home()
    try:
        cache.mkdir(parents=True)
    except FileExistsError:
        pass
    except OSError:
        return own  # nowhere to write: the caller's own error handling says so
    else:
        print(
            f"note: the kit's folder {ROOT} is read-only here, so what the kit keeps for you "
            f"(the hints seen, the demo's and explain's pictures) goes to {cache}",
            file=sys.stderr,
        )
    return cache / name.lstrip(".")
