"""A first run that explains itself: the commands the kit names follow how the learner ran it, and a
read-only kit keeps what it writes for the learner in the user's cache folder."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_install import kit_copy, needs_make, script

from kit import ROOT

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


# A tree whose path holds spaces, accents and a quote, as a learner's folder can.
AWKWARD = "my dir \u00fc/tree \u00f1 03 it's"


def test_a_command_the_kit_names_is_quoted_for_the_learners_shell_so_that_it_can_be_pasted(monkeypatch, tmp_path):
    from kit import commands

    impl, exe = tmp_path / AWKWARD, tmp_path / "a venv" / "bin" / "python"
    monkeypatch.setattr(commands.sys, "executable", str(exe))
    monkeypatch.setenv("PATH", str(tmp_path))  # no python on PATH: the interpreter is named by its path
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    assert shlex.split(commands.command("check", "03", impl)) == ["make", "check-03", f"IMPL={impl}"]
    assert commands.command("check", "03", tmp_path / "a$b") == f"make check-03 IMPL='{tmp_path}/a$$b'", "make's $"
    monkeypatch.setenv("KIT_VIA_MAKE", "")
    said = commands.command("solution", "03", impl, "force")
    assert shlex.split(said) == [str(exe), "-m", "kit", "solution", "03", "--force", "--impl", str(impl)]
    monkeypatch.setattr(commands, "WINDOWS", True)  # cmd and PowerShell: double quotes, as list2cmdline writes them
    said = commands.command("check", "03", impl)
    assert said == f'"{exe}" -m kit check 03 --impl "{impl}"'
    assert said == subprocess.list2cmdline([str(exe), "-m", "kit", "check", "03", "--impl", str(impl)])


@needs_make
def test_every_learner_target_of_the_makefile_passes_a_folder_with_spaces_accents_and_quotes_whole(tmp_path):
    """Each target runs a stand-in for .venv/bin/python that prints its arguments, one a line; `make`
    also runs in a kit folder whose path holds a space."""
    kit, impl = tmp_path / "the kit", str(tmp_path / AWKWARD)  # a kit folder with a space works too
    kit.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, kit / name)
    (kit / ".venv" / "bin").mkdir(parents=True)
    says_its_arguments = script(
        'if [ "$1" = -c ]; then echo 3.12; else for a in "$@"; do printf "%s\\n" "$a"; done; fi'
    )
    says_its_arguments(kit / ".venv" / "bin" / "python")
    make = ["make", "--no-print-directory", "PIP=true"]
    assert subprocess.run([*make, "setup"], cwd=kit, capture_output=True).returncode == 0
    targets = {
        "check-03": ["check", "03"],
        "check": ["check", "all"],
        "progress": ["progress"],
        "explain-03": ["explain", "03"],
        "watch": ["watch"],
        "solution-03": ["solution", "03"],
        "demo": ["demo"],
    }
    for target, words in targets.items():
        proc = subprocess.run([*make, target, f"IMPL={impl}"], cwd=kit, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        said = [line for line in proc.stdout.splitlines() if not line.startswith("installing the ")]  # an extra
        assert said == ["-m", "kit", *words, "--impl", impl], target
    proc = subprocess.run([*make, "demo", "STEPS=5", f"IMPL={impl}"], cwd=kit, capture_output=True, text=True)
    assert proc.stdout.splitlines() == ["-m", "kit", "demo", "--impl", impl, "--steps", "5"]


@pytest.mark.skipif(os.name == "nt", reason="pastes the command into sh")
def test_a_closed_solution_of_a_tree_in_a_folder_with_spaces_names_a_check_that_runs_as_pasted(tree, tmp_path):
    impl = shutil.copytree(tree(2), tmp_path / AWKWARD)
    env = {**os.environ, "KIT_VIA_MAKE": ""}
    cmd = [sys.executable, "-m", "kit", "solution", "03", "--impl", str(impl)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    pasted = re.search(r"^Keep going: (.*) says what is still wrong,$", proc.stdout, re.M)[1]
    check = subprocess.run(["sh", "-c", pasted], cwd=ROOT, capture_output=True, text=True, env=env)
    assert check.stdout.rstrip().splitlines()[-1] == "check-03: 0/10 points", check.stdout + check.stderr
    assert f"grading {impl}/" in check.stdout


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
    """In-process, with the kit's folder unwritable by os.access (root writes past chmod), the grading
    skipped and the picture's grid coarse: where the picture goes is what is tested."""
    from kit import state
    from kit.learner import demo
    from kit.learner.moons import grid_scores

    real = os.access
    monkeypatch.setattr(state.os, "access", lambda p, mode: not str(p).startswith(str(ROOT)) and real(p, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(state.sys, "platform", "linux")
    monkeypatch.setattr(demo, "choose", lambda impl: (ROOT / "solutions", "the reference micrograd"))
    monkeypatch.setattr(demo, "grid_scores", lambda model, xs: grid_scores(model, xs, size=(3, 3)))
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


@pytest.mark.parametrize("via_make", ["1", ""])
def test_a_checks_banner_names_the_check_to_finish_first_the_way_the_learner_ran_it(monkeypatch, via_make):
    from checks import messages
    from kit.commands import interpreter

    monkeypatch.setenv("KIT_VIA_MAKE", via_make)
    banner = messages.builds_on("04", ("02", "03"), {"02": ("fail", "a + b is not a Value")})
    said = "make check-02" if via_make else f"{interpreter()} -m kit check 02"
    assert f"Finish it first ({said}): failures below may come from there." in banner


# --- a folder that is not a tree is refused, with the folder above it that is ------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["check", "03"],
        ["progress"],
        ["solution", "03"],
        ["demo", "--steps", "1"],
        ["draw", "03"],
        ["explain", "03"],
        ["watch", "--once"],
    ],
)
def test_a_learners_command_refuses_a_folder_inside_the_tree_once_and_names_the_tree(tree, tmp_path, command):
    """`--impl TREE/micrograd` used to score 0 on every test under a banner naming a wrong cause."""
    impl = shutil.copytree(tree(3), tmp_path / "tree")
    cmd = [sys.executable, "-m", "kit", *command, "--impl", "tree/micrograd"]
    env = {**os.environ, "KIT_VIA_MAKE": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    said = proc.stderr.strip().splitlines()[-1]
    assert said.endswith(
        "error: --impl tree/micrograd: this folder holds none of the learner's tree "
        "(derivatives.py, micrograd/, train.py); did you mean --impl tree?"
    ), proc.stderr
    assert impl.is_dir()


def test_under_make_the_tree_above_is_named_as_make_takes_it_and_a_folder_with_no_tree_above_has_no_guess(
    monkeypatch, tmp_path
):
    from kit.commands import impl_refusal

    (tmp_path / "my tree" / "micrograd").mkdir(parents=True)
    (tmp_path / "my tree" / "derivatives.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    assert impl_refusal("my tree/micrograd").endswith("; did you mean IMPL='my tree'?")
    assert impl_refusal(str(tmp_path / "my tree" / "micrograd")).endswith(f"; did you mean IMPL='{tmp_path}/my tree'?")
    assert impl_refusal("my tree") is None and impl_refusal("nowhere") == "--impl nowhere: no such folder"
    (tmp_path / "empty").mkdir()
    assert impl_refusal("empty") == (
        "--impl empty: this folder holds none of the learner's tree (derivatives.py, micrograd/, train.py)"
    )
