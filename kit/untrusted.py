"""Reading a file that came from outside (an upload, a result an earlier run kept): the file itself,
never through a link and never waiting on a pipe, and no more of it than the kit would take."""

import os
import stat


class NotText(ValueError):
    """The file is not one the kit reads: says why ("is not a file", "is larger than 20 MB", ...)."""


def read_text(path, limit):
    """The UTF-8 text of the regular file at `path`, at most `limit` bytes; OSError where it cannot be
    opened (a link among them), NotText where it is not such a file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotText("is not a file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotText(f"is larger than {limit >> 20} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotText("is not UTF-8 text") from None
