"""The CPython versions the kit supports, and where this machine has each: `python -m kit pythons`.

Prints `VERSION PATH` per supported version found, and `VERSION -` for one that is absent. A
version is found on the PATH as pythonX.Y (when it runs: a pyenv shim of a version that is not
selected refuses), or in pyenv's folder of versions. `.ci/run` tests the kit on each one found;
tests/test_pythons.py runs the worker on each.
"""

import argparse
import glob
import os
import shutil
import subprocess

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")  # requires-python in pyproject.toml says the first


def runs(python, version):
    """Whether `python` starts and is `version`."""
    try:
        p = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and p.stdout.strip() == version


def find(version):
    """A path of CPython `version` on this machine, or None."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))[::-1]
    return next((c for c in candidates if c and runs(c, version)), None)


def found():
    """{version: path} of the supported versions this machine has."""
    return {v: path for v in SUPPORTED if (path := find(v))}


def main(argv=None):
    argparse.ArgumentParser(prog="python -m kit pythons", description=__doc__.split("\n\n")[0]).parse_args(argv)
    for version in SUPPORTED:
        print(version, find(version) or "-")
    return 0
