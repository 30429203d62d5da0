"""The worker's side of the checks: the only code that touches the learner's objects.

Standard library only, copied whole into a grader's sandbox. `main.py` is the worker process;
`guard.py` imports the learner's modules and keeps the registry of probes; `graphs.py` builds the
checks' graph specs out of the learner's Values; `probes_NN.py` holds exercise NN's probes, each an
experiment on the learner's code that returns plain data (numbers, strings, lists, dicts). The
judge (the checks) imports this package only to read the probes' docstrings and `functions.py`, and
the grader for `staged.py`, the rules of what it stages of a tree.
"""

from . import probes_01, probes_02, probes_03, probes_04, probes_05, probes_06, probes_07, probes_explain  # noqa: F401
from .guard import PROBES

__all__ = ["PROBES"]
