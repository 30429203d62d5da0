"""The kit installed as a package (a course's JupyterHub, a Gradescope image), not run from its checkout."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from kit import ROOT
from kit.exercises import TOTAL

OFFLINE = re.compile(r"Could not fetch|No matching distribution|connection|Network is unreachable", re.I)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The kit as `pip install` lays it out (a built wheel, no checkout beside it), in a folder of its own."""
    site = tmp_path_factory.mktemp("site")
    # Built from a copy of the sources, so the build leaves nothing in the kit's own tree.
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".kit", "out")
    source = shutil.copytree(ROOT, tmp_path_factory.mktemp("source") / "kit", ignore=ignore)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 and OFFLINE.search(proc.stdout + proc.stderr):
        pytest.skip("building the kit's wheel needs setuptools from the package index, which is out of reach")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return site


@pytest.mark.slow
def test_an_installed_kit_grades_a_tree_with_full_marks_from_any_folder(installed, tmp_path):
    assert not (installed / "pyproject.toml").exists() and not (installed / "solutions").exists()
    impl = shutil.copytree(ROOT / "solutions", tmp_path / "impl")
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "check", "all", "--impl", str(impl)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == f"total: {TOTAL}/{TOTAL} points"
    assert (
        str(installed)
        in subprocess.run(
            [sys.executable, "-c", "import checks.plugin; print(checks.plugin.__file__)"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(installed)},
        ).stdout
    ), "the installed copy, not this checkout, must be the one that graded"
