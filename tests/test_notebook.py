"""The notebook route (Colab, a JupyterHub): docs/notebook.ipynb clones the kit and grades from a cell."""

import os
import re
import shutil
import subprocess

import pytest

from kit import ROOT
from kit.exercises import POINTS

nbformat = pytest.importorskip("nbformat", reason="the dev extra brings nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extra brings nbclient")
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text(cell):
    """What a cell printed, without colour."""
    return ANSI.sub("", "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))


def check_cell(nb):
    (index,) = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "-m kit check 01" in c.source]
    return index


def repository(folder):
    """A git repository of the kit as it is in this tree (committed or not), for the notebook to clone."""
    ignore = shutil.ignore_patterns(".venv*", ".git", "build", "*.egg-info", "__pycache__", ".kit", "out")
    repo = shutil.copytree(ROOT, folder, ignore=ignore)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the kit"]):
        subprocess.run(["git", "-c", "user.name=kit", "-c", "user.email=kit@localhost", *args], cwd=repo, check=True)
    return repo


@pytest.mark.skipif(shutil.which("git") is None, reason="the notebook clones the kit with git")
def test_the_notebook_clones_the_kit_grades_01_from_a_cell_and_grades_it_again_after_an_edit(tmp_path, monkeypatch):
    """A fresh notebook in an empty folder clones the kit, and its check cell prints check-01's lines;
    after the exercise is edited (here: the reference copied in), the same cell earns full marks."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("KIT_URL", repository(tmp_path / "origin").as_uri())
    monkeypatch.setenv("NO_COLOR", "1")
    work = tmp_path / "notebook"
    work.mkdir()
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": work}})
    clone, index = work / "micrograd-kit", check_cell(nb)
    with client.setup_kernel(env={**os.environ}):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        first = text(nb.cells[index])
        assert f"the kit is in {clone}" in text(nb.cells[1])
        shutil.copy(ROOT / "solutions" / "derivatives.py", clone / "exercises" / "derivatives.py")
        client.execute_cell(nb.cells[index], index)
        again = text(nb.cells[index])
    assert "check-01 · numeric derivatives" in first and "grading exercises/" in first, first
    assert "TODO  0/1" in first and "TODO(ex01) in derivatives.py" in first, first
    assert first.rstrip().splitlines()[-1] == f"check-01: 0/{POINTS['01']} points", first
    assert "TODO" not in again and again.rstrip().splitlines()[-1] == f"check-01: {POINTS['01']}/{POINTS['01']} points"
