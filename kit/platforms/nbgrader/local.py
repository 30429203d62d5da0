"""Running nbgrader on this machine: the kit's tests and benchmarks drive its real CLI."""

import json
import os
import sys
from pathlib import Path

from kit import ROOT
from kit.platforms.nbgrader.extract import file_cells
from kit.regions import render


def kernel_env(home, python=sys.executable):
    """An environment for the nbgrader CLI: `python` as the `python3` kernel, no user Jupyter settings."""
    home = Path(home)
    spec = home / "path" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
            }
        )
    )
    # A new gradebook runs `alembic` from PATH: the one next to this Python.
    path = str(Path(python).parent) + os.pathsep + os.environ.get("PATH", "")
    return {
        **os.environ,
        "PATH": path,
        "JUPYTER_PATH": str(home / "path"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


def solve(nb, ex):
    """Fill a released notebook's solution cells with the reference code of exercise `ex`."""
    for path, cell in file_cells(nb):
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = f"# {path}\n" + render((ROOT / "solutions" / path).read_text(), int(ex), path)
    return nb
