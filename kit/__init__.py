"""micrograd-kit's tooling: the one CLI (python -m kit) of the learner's tools, the checks' runner,
the instructor's grading, the course platforms and the kit's own development tools."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
