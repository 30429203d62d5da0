"""The grader's secret and the seeds derived from it.

Each student's inputs are seeded by HMAC(secret, student id and the staged tree's hash): the same
bytes get the same grade on every run and every machine, a changed submission gets new inputs, and
what a student sees of their inputs tells nothing about the secret or anyone else's seed.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from kit.errors import KitError

SECRET_BYTES = 16  # at least 128 bits


def secret_id(secret):
    """A name for the secret that reveals nothing of it: shards and re-runs must share it."""
    return hmac.new(secret, b"micrograd-kit secret id", hashlib.sha256).hexdigest()[:16]


def derive_seed(secret, sid, fp):
    """The seed of one student's inputs: HMAC(secret, id and staged tree's hash), 128 bits."""
    digest = hmac.new(secret, f"{sid}\0{fp}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big")


def load_secret(args, out):
    """(secret bytes, a warning or None): --secret FILE, --seed S, or OUT/.secret (made once, mode 0600)."""
    if args.secret and args.seed is not None:
        raise KitError("--secret and --seed both name the secret: give one")
    if args.secret:
        try:
            data = Path(args.secret).read_bytes().strip()
        except OSError as e:
            raise KitError(f"--secret {args.secret}: {e.strerror}") from None
        if len(data) < SECRET_BYTES:
            raise KitError(
                f"--secret {args.secret}: a secret needs at least {SECRET_BYTES} bytes (128 bits); make one with "
                "python -c 'import secrets; print(secrets.token_hex(32))' > FILE"
            )
        return data, None
    if args.seed is not None:
        weak = "WARNING: --seed is a short secret a student could guess from their feedback; prefer --secret FILE"
        return str(args.seed).encode(), weak
    path = out / ".secret"
    if not os.path.lexists(path):
        # Written whole under another name, then linked in place: a grader killed meanwhile leaves no
        # empty .secret behind, and of two gradings started at once the first link wins.
        tmp = out / f".secret.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    if path.is_symlink() or not path.is_file():
        raise KitError(f"{path} is not a plain file: the grader follows no link in its output folder")
    data = path.read_bytes().strip()
    if len(data) < SECRET_BYTES:
        raise KitError(
            f"{path} holds {len(data)} bytes, not a secret of {SECRET_BYTES} or more (a grading killed as it made "
            "it?): restore the class's secret there, or remove the file to start the class over"
        )
    return data, None
