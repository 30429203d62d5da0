"""The kit installed as a package (a course's JupyterHub, a Gradescope image), not run from its checkout."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


def test_the_dependencies_the_kit_looks_for_are_pyproject_tomls():
    from kit.learner.install import REQUIRED

    block = re.search(r"^dependencies = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.S | re.M)[1]
    names = re.findall(r'"([A-Za-z0-9_.-]+)', block)
    assert sorted(n.replace("-", "_") for n in names) == sorted(REQUIRED)


# --- the commands the kit names follow how the learner ran it ---------------------------------------


def test_under_make_the_kit_names_make_targets_and_otherwise_python_m_kit_with_its_interpreter(monkeypatch, tmp_path):
    from kit.commands import command, interpreter

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", str(tmp_path))  # no python on PATH: the interpreter is named by its path
    here = os.path.relpath(sys.executable) if sys.executable.startswith(str(ROOT)) else sys.executable
    assert interpreter() == here
    monkeypatch.delenv("KIT_VIA_MAKE", raising=False)
    assert command("check", "03") == f"{here} -m kit check 03"
    assert command("check", "all", ROOT / "solutions") == f"{here} -m kit check all --impl solutions"
    assert command("hint", "03", None, "reset") == f"{here} -m kit hints 03 --reset"
    assert command("solution", "03", ROOT / "exercises", "force") == f"{here} -m kit solution 03 --force"
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    assert command("check", "03") == "make check-03" and command("check", "all") == "make check"
    assert command("hint", "03", None, "reset") == "make hint-03 RESET=1"
    assert command("solution", "03", ROOT / "solutions", "force") == "make solution-03 FORCE=1 IMPL=solutions"
    assert command("hint", "03", None, "again") == f"{here} -m kit hints 03 --again", "make has no --again"


def test_the_interpreter_is_named_python_where_that_name_on_path_is_it(monkeypatch, tmp_path):
    from kit.commands import interpreter

    (tmp_path / "python").symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert interpreter() == "python"


def test_every_learner_target_of_the_makefile_tells_the_kit_it_runs_under_make():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LEARN +:= KIT_VIA_MAKE=1 \$\(PY\) -m kit$", makefile, re.M)
    for command in ("check \\$\\*", "check all", "progress", "hints \\$\\*", "watch", "solution \\$\\*", "demo"):
        assert re.search(rf"^\t@\$\(LEARN\) {command}( |$)", makefile, re.M), command
    assert "$(PY) -m kit check" not in makefile, "a learner's target without KIT_VIA_MAKE would name python -m kit"


@pytest.mark.parametrize("via_make", [True, False])
def test_a_closed_solution_names_the_commands_the_way_the_learner_ran_it(via_make):
    env = {**os.environ, "KIT_VIA_MAKE": "1" if via_make else ""}
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "solution", "03"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    kit = "make" if via_make else f"{interpreter_here()} -m kit"
    said = {
        True: ["make check-03 says", "make hint-03 gives", "make solution-03 FORCE=1"],
        False: [f"{kit} check 03 says", f"{kit} hints 03 gives", f"{kit} solution 03 --force"],
    }[via_make]
    for text in said:
        assert text in proc.stdout, proc.stdout
    assert ("python -m kit" in proc.stdout) != via_make


def interpreter_here():
    """This interpreter as the kit names it, from the kit's folder and this PATH."""
    return subprocess.run(
        [sys.executable, "-c", "from kit.commands import interpreter; print(interpreter())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


# --- a read-only kit: what the kit keeps goes to the user's cache folder ----------------------------


def as_learner():
    """The command prefix that runs as an ordinary user, for whom a read-only folder is read-only:
    none when the tests run as one, setpriv to nobody when they run as root (whom chmod does not stop)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: there is no user for whom the copy is read-only")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def stdlib_python():
    """A Python an unprivileged user can run (pyenv's may lie under /root): hints need the standard library only."""
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if python and subprocess.run([*as_learner(), python, "-c", ""], capture_output=True).returncode == 0:
            return python
    pytest.skip("no Python here that an unprivileged user can run")


@pytest.fixture
def open_folder():
    """A folder every user may enter (pytest's own are its owner's alone), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kit-readonly-"))
    folder.chmod(0o755)
    yield folder
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)
    shutil.rmtree(folder)


def test_in_a_read_only_kit_a_hint_is_shown_and_remembered_in_the_cache_folder_said_once(open_folder):
    kit, home = kit_copy(open_folder), open_folder / "home"
    home.mkdir()
    if as_learner():
        os.chown(home, 65534, 65534)
    subprocess.run(["chmod", "-R", "a-w", str(kit)], check=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "KIT_VIA_MAKE": "1"}
    hint = [*as_learner(), stdlib_python(), "-m", "kit", "hints", "03"]
    runs = [subprocess.run(hint, cwd=kit, capture_output=True, text=True, env=env) for _ in range(2)]
    for number, proc in enumerate(runs, 1):
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
        assert f"hint {number} of" in proc.stdout and f"Ask again for hint {number + 1}: make hint-03" in proc.stdout
    cache = home / "cache" / "micrograd-kit"
    assert runs[0].stderr.count(f"goes to {cache}") == 1 and "goes to" not in runs[1].stderr, "said once"
    assert json.loads((cache / "kit" / "hints.json").read_text()) == {"03": 2}
    assert not (kit / ".kit").exists()


def test_with_neither_the_kit_nor_the_cache_writable_the_hint_is_shown_and_the_loss_said(open_folder):
    kit, blocked = kit_copy(open_folder), open_folder / "a-file"
    blocked.write_text("")  # a cache folder below a file can be made by no one, root included
    subprocess.run(["chmod", "-R", "a-w", str(kit)], check=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(blocked), "XDG_CACHE_HOME": str(blocked / "cache")}
    hint = [*as_learner(), stdlib_python(), "-m", "kit", "hints", "05"]
    proc = subprocess.run(hint, cwd=kit, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert "hint 1 of" in proc.stdout and "could not remember the hints seen" in proc.stdout


def test_the_demo_of_a_read_only_kit_draws_its_picture_in_the_cache_folder(monkeypatch, tmp_path, capsys):
    """In-process, with the kit's folder unwritable by os.access (root writes past chmod), and the
    grading skipped: where the picture goes is what is tested."""
    from kit import state
    from kit.learner import demo

    real = os.access
    monkeypatch.setattr(state.os, "access", lambda p, mode: not str(p).startswith(str(ROOT)) and real(p, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(state.sys, "platform", "linux")
    monkeypatch.setattr(demo, "choose", lambda impl: (ROOT / "solutions", "the reference micrograd"))
    assert demo.main(["--steps", "1"]) == 0
    out, err = capsys.readouterr()
    cache = tmp_path / "cache" / "micrograd-kit"
    assert err.count(f"goes to {cache}") == 1
    (picture,) = (cache / "out").iterdir()
    assert picture.name in ("demo.png", "demo.svg") and f"wrote {picture}" in out


@pytest.mark.parametrize(
    "platform, name, env, expected",
    [
        ("linux", "posix", {"XDG_CACHE_HOME": "/x/cache"}, "/x/cache/micrograd-kit"),
        ("linux", "posix", {}, "~/.cache/micrograd-kit"),
        ("darwin", "posix", {}, "~/Library/Caches/micrograd-kit"),
        ("win32", "nt", {"LOCALAPPDATA": "/x/AppData/Local"}, "/x/AppData/Local/micrograd-kit"),
    ],
)
def test_the_cache_folder_follows_each_platforms_convention(monkeypatch, platform, name, env, expected):
    from kit import state

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(state.sys, "platform", platform)
    monkeypatch.setattr(state, "WINDOWS", name == "nt")
    assert state.cache_home() == Path(os.path.expanduser(expected))
