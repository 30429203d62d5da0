"""micrograd-kit's tooling: stub generation, running the checks, and (later) grading."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
