"""Installing the kit: as a package (a course's JupyterHub, a Gradescope image), not run from its checkout;
the Makefile's .venv, refused with advice when it cannot serve; a Python without the dependencies, told how
to set up."""

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


# --- a first run that explains itself: the Makefile's .venv, a Python without the dependencies -----


def make_setup(folder, venv_python=None, *args):
    """`make setup ARGS` in a folder holding the kit's Makefile and pyproject.toml, and .venv/bin/python."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    if venv_python is not None:
        (folder / ".venv" / "bin").mkdir(parents=True)
        venv_python(folder / ".venv" / "bin" / "python")
    return subprocess.run(["make", "--no-print-directory", "setup", *args], cwd=folder, capture_output=True, text=True)


def script(text):
    def write(path):
        path.write_text(f"#!/bin/sh\n{text}\n")
        path.chmod(0o755)

    return write


needs_make = pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="the Makefile needs make, sh")


@needs_make
def test_a_venv_made_by_a_python_older_than_3_10_is_named_with_what_to_do(tmp_path):
    """macOS's own python3 is 3.9: a .venv it made is refused by name, where pip used to fail every make alike."""
    proc = make_setup(tmp_path, script("echo 3.9"))
    assert proc.returncode != 0
    assert ".venv holds Python 3.9, and the kit needs Python 3.10 or later." in proc.stdout
    assert "Remove it (rm -rf .venv) and make setup again" in proc.stdout
    assert "setting up" not in proc.stdout, "nothing is installed into a .venv that cannot run the kit"


@needs_make
def test_a_half_made_venv_without_pip_says_to_install_python3_venv_and_remove_it(tmp_path):
    """Debian's python3 without python3-venv leaves a .venv with a python and no pip: what --without-pip makes."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")], check=True)
    proc = make_setup(tmp_path)
    assert proc.returncode != 0
    assert ".venv is half made: it has no pip" in proc.stdout
    assert "sudo apt install python3-venv" in proc.stdout and "rm -rf .venv" in proc.stdout


@needs_make
def test_a_python_older_than_3_10_is_refused_before_it_makes_a_venv(tmp_path):
    old = tmp_path / "python3.9"
    script("echo 3.9")(old)
    proc = make_setup(tmp_path, None, f"PYTHON={old}")
    assert proc.returncode != 0 and not (tmp_path / ".venv").exists()
    assert f"{old} is Python 3.9, and the kit needs Python 3.10 or later" in proc.stdout


@needs_make
def test_a_whole_supported_venv_passes_the_checks_and_is_set_up(tmp_path):
    """This Python, whole and 3.10+, is set up (the install itself stood in for by `true`)."""
    proc = make_setup(tmp_path, lambda path: path.symlink_to(sys.executable), "PIP=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "setting up .venv (first run only)" in proc.stdout
    assert list((tmp_path / ".venv").glob(".installed-*"))


def bare_python(tmp_path):
    """A Python without the kit's dependencies: a fresh virtual environment with nothing installed."""
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    assert subprocess.run([python, "-c", "import pytest"], capture_output=True).returncode != 0
    return python


def kit_copy(tmp_path):
    """The kit without its .venv, as a learner has it after cloning."""
    ignore = shutil.ignore_patterns(".venv*", ".git", "*.egg-info", "__pycache__", ".kit", "out")
    return shutil.copytree(ROOT, tmp_path / "kit", ignore=ignore)


def test_python_m_kit_without_the_dependencies_says_how_to_set_up_instead_of_a_traceback(tmp_path):
    python, kit = bare_python(tmp_path), kit_copy(tmp_path)
    for command in (["check", "01"], ["progress"]):
        proc = subprocess.run([python, "-m", "kit", *command], cwd=kit, capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        said = " ".join(command)
        assert f"python -m kit {said} needs pytest, which this Python ({python}) does not have." in proc.stderr
        assert "make setup" in proc.stderr
        assert "python3 -m venv .venv && .venv/bin/python -m pip install -e ." in proc.stderr
        assert f"then: .venv/bin/python -m kit {said}" in proc.stderr
        assert f"%pip install -e . in a cell, then !python -m kit {said}" in proc.stderr


def test_an_instructor_command_without_its_extra_says_which_to_install_instead_of_a_traceback(tmp_path):
    """`kit nbgrader grade` without nbgrader ended in a ModuleNotFoundError's traceback."""
    python = bare_python(tmp_path)
    for command, lacks in (
        (["nbgrader", "grade", "ex01"], "nbgrader"),
        (["nbgrader", "--course", str(tmp_path / "c")], "nbformat"),
        (["classroom", "--out", str(tmp_path / "t")], "PyYAML"),
    ):
        proc = subprocess.run([python, "-m", "kit", *command], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"error: {lacks} is not installed: pip install -e '.[instructor]'" in proc.stderr


def test_python_3_9_is_told_the_kit_needs_3_10_not_that_it_lacks_pytest(tmp_path):
    """No 3.9 here: a bare Python that reports 3.9 (sitecustomize sets sys.version_info, where the kit reads it).
    macOS's own python3 is 3.9, and a learner who ran it was told to install pytest."""
    python, kit, fake = bare_python(tmp_path), kit_copy(tmp_path), tmp_path / "fake"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text("import sys\nsys.version_info = (3, 9, 18, 'final', 0)\n")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    for command in (["check", "01"], ["progress"]):
        proc = subprocess.run([python, "-m", "kit", *command], cwd=kit, capture_output=True, text=True, env=env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"python -m kit needs Python 3.10 or later, and this is Python 3.9 ({python})." in proc.stderr
        assert "needs pytest" not in proc.stderr and "make setup PYTHON=python3.12" in proc.stderr


def test_with_the_kits_venv_set_up_the_advice_is_to_run_the_command_with_its_python(tmp_path):
    proc = subprocess.run([bare_python(tmp_path), "-m", "kit", "check", "01"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "The kit's environment is set up: run the command with its Python:\n  .venv/bin/python -m kit check 01" in (
        proc.stderr
    )


def test_on_windows_the_advice_uses_the_py_launcher_and_the_venvs_scripts_folder(monkeypatch, tmp_path):
    from kit.learner import install

    monkeypatch.setattr(install, "ROOT", tmp_path)  # a kit without .venv
    monkeypatch.setattr(install, "WINDOWS", True)
    text = install.advice("pytest_timeout", ["check", "01"])
    assert "  py -m venv .venv\n  .venv\\Scripts\\python -m pip install -e ." in text
    assert "then: .venv\\Scripts\\python -m kit check 01" in text and "make" not in text


@pytest.mark.parametrize("windows", [False, True])
def test_the_advice_quotes_the_command_for_the_learners_shell_so_that_it_can_be_pasted(monkeypatch, tmp_path, windows):
    from kit.learner import install

    monkeypatch.setattr(install, "ROOT", tmp_path)  # a kit without .venv
    monkeypatch.setattr(install, "WINDOWS", windows)
    text = install.advice("pytest", ["check", "03", "--impl", "my tree \u00f1"])
    quoted = '"my tree \u00f1"' if windows else "'my tree \u00f1'"
    assert f"then: {install.venv_python()} -m kit check 03 --impl {quoted}" in text


def test_the_dependencies_the_kit_looks_for_are_pyproject_tomls():
    from kit.learner.install import REQUIRED

    block = re.search(r"^dependencies = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.S | re.M)[1]
    names = re.findall(r'"([A-Za-z0-9_.-]+)', block)
    assert sorted(n.replace("-", "_") for n in names) == sorted(REQUIRED)
