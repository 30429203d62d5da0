"""What a grader stages of a learner's tree, file by file (kit/instructor/collect.py), held to by the
learner's own run too (fence.py), so that `make check` gives the verdict the grader gives the same
tree: a file a grader leaves out is one the checks cannot read on the learner's machine either, and
the learner is told why rather than finding out from the grade.

Standard library only: the worker loads it, and the grader imports it as part of the checks.
"""

import os
import stat

MAX_FILE = 1 << 20  # bytes in one file of the tree
MAX_PATH = 240  # bytes of a file's path inside the tree (a file name holds 255)
SKIPPED_DIRS = frozenset({"__pycache__", "__MACOSX", "node_modules", "site-packages"})  # and every ".name"

LINK = "links, left out as links are not followed"
NOT_IMPORTED = "left out, as the checks never import them"
LONG = f"left out, as their paths are longer than {MAX_PATH} bytes"
LARGE = f"larger than {MAX_FILE >> 10} KB, so left out"
HIDDEN = "left out, as they lie in a hidden folder, a cache or a package folder"


# The same reasons for one file, as the learner's run words them (fence.py).
ONE = {
    LINK: "is a link, which a grader does not follow",
    NOT_IMPORTED: "is not one of the tree's Python files, the only files a grader stages (conftest.py aside)",
    LONG: f"has a path longer than {MAX_PATH} bytes",
    LARGE: f"is larger than {MAX_FILE >> 10} KB",
    HIDDEN: "lies in a hidden folder, a cache or a package folder, where a grader does not look",
}


def skipped_folder(name):
    """Whether the grader's walk never enters a folder of this name."""
    return name.startswith(".") or name in SKIPPED_DIRS


def left_out(rel, link, regular, size):
    """Why a grader leaves out the file at `rel` (its path inside the tree, "/"-separated), as one of
    the sentences above, or None where it stages it. `link`: the file or a folder on its way is a link;
    `regular`: it is a plain file; `size`: its bytes."""
    if link:
        return LINK
    if not regular or not rel.endswith(".py") or rel.rsplit("/", 1)[-1] == "conftest.py":
        return NOT_IMPORTED
    if len(rel.encode("utf-8", "surrogateescape")) > MAX_PATH:
        return LONG
    if size > MAX_FILE:
        return LARGE
    return None


def outside_staging(root):
    """why(path): for a file the learner's run opens inside the tree at `root` (a path ending in the
    separator; `path` absolute, links not followed), the words saying that a grader leaves it out, or
    None. The functions and tables it calls are bound here, before learner code runs (the audit hook
    calls it); what they look up in turn are this module's constants."""
    sep, lstat, is_link, is_file, any_of, len_of = os.sep, os.lstat, stat.S_ISLNK, stat.S_ISREG, any, len
    skipped, judged, words, hidden, join = skipped_folder, left_out, dict(ONE), HIDDEN, "/".join

    def why(path):
        if not path.startswith(root):
            return None
        parts = path[len_of(root) :].split(sep)
        if "__pycache__" in parts[:-1]:
            return None  # the interpreter's own cache of the tree's modules
        reason, place, link = None, root[:-1], False
        if any_of(skipped(part) for part in parts[:-1]):
            reason = hidden
        else:
            try:
                for part in parts:
                    place = place + sep + part
                    st = lstat(place)
                    link = link or is_link(st.st_mode)
            except OSError:
                return None  # no such file: the open itself says so
            reason = judged(join(parts), link, is_file(st.st_mode), st.st_size)
        if reason is None:
            return None
        return f"{join(parts)} {words[reason]}: a grader leaves it out, so the checks do not read it here either"

    return why
