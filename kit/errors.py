"""The kit's one error: a refusal that library code raises and a command's main() reports.

Library code never ends the process itself (SystemExit): it raises KitError with the message for
the user and the exit status the command should leave with; `python -m kit` (kit/__main__.py) and
each command's own main() print the message on stderr and return the status.
"""

import sys


class KitError(Exception):
    """A refusal with its message for the user and the command's exit status (default 1, as a refusal)."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.message, self.status = str(message), status

    def __str__(self):
        return self.message


def report(error, stream=None):
    """Print `error`'s message as a command does, and return its exit status."""
    print(error.message, file=stream or sys.stderr)
    return error.status
