"""Importing a learner's tree into the kit's own process: the demo and the graph drawing.

The checks never do this (their learner code runs only in the worker); the self-study tools that
run a learner's micrograd on purpose use this one function, so that no other micrograd can stand
in for the learner's.
"""

import importlib
import importlib.util
import sys
from pathlib import Path


def import_tree(impl, *names):
    """Import modules ("micrograd.engine", "train", ...) from the tree impl, and from nowhere else.

    The package `micrograd` is registered from impl/micrograd before anything imports it, so an
    installed micrograd (or one earlier on sys.path) can never stand in for the learner's.
    """
    impl = Path(impl).resolve()
    for name in [m for m in sys.modules if m.split(".")[0] in ("micrograd", "train")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "micrograd", impl / "micrograd" / "__init__.py", submodule_search_locations=[str(impl / "micrograd")]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["micrograd"] = package
    spec.loader.exec_module(package)
    modules = []
    for name in names:
        if name.startswith("micrograd."):
            modules.append(importlib.import_module(name))
        else:
            spec = importlib.util.spec_from_file_location(name, impl / f"{name}.py")
            module = sys.modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules.append(module)
    return modules
