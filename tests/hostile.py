"""A class of hostile submissions, each with the honest twin that earns what its honest parts earn.

`build(folder, outside, kit)` writes every submission into `folder` and returns {student id:
(expected, twin id or None, review)}, where expected is a dict of exact points per check, "twin"
(the same points as the twin), or ("ungradable", words the reason must contain), and review is
the set of checks the judge's review list must name for it: those during which the worker's audit
hook refused something (an empty set: never flagged). Every hostile act is bounded (a few
seconds, a few hundred MB at most), so that even an unsandboxed run cannot harm the machine.
`outside` is a folder the submissions must not be able to write into; `kit` is the copy of the kit
that grades them (the one they attack).
"""

import os
import shutil
import zipfile
from pathlib import Path

from kit import ROOT
from kit.regions import build_tree

FULL = {"01": 14, "02": 10, "03": 10, "04": 10, "05": 14, "06": 10, "07": 10}


def tree(dst, upto=7, patches=(), extra=None):
    """The reference solved through `upto`, with text patches [(file, old, new)] and extra files."""
    build_tree(ROOT / "solutions", dst, upto)
    for file, old, new in patches:
        path = dst / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))
    for rel, content in (extra or {}).items():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).write_bytes(content if isinstance(content, bytes) else content.encode())
    return dst


def top(file, code):
    """A patch that runs `code` when `file` is imported."""
    first = {
        "derivatives.py": '"""Exercise 01: the slope of a function, measured numerically."""\n',
        "micrograd/engine.py": "import math\n",
        "micrograd/nn.py": "import random\n",
        "train.py": '"""Exercise 07: fit a model by gradient descent."""\n',
    }[file]
    return (file, first, first + code + "\n")


BACKWARD = (
    "micrograd/engine.py",
    "        self.grad = 1.0\n        for v in reversed(topological_order(self)):\n            v._backward()\n",
)
STUB_DERIVATIVES = (
    "derivatives.py",
    "    return (f(x + h) - f(x)) / h\n",
    "    raise NotImplementedError('ex01: derivative')\n",
)


def build(folder, outside, kit=ROOT):
    folder, outside = Path(folder), Path(outside)
    kit = str(kit)
    cases = {}

    def add(sid, expected, twin=None, review=frozenset(), **kw):
        tree(folder / sid, **kw)
        cases[sid] = (expected, twin, review)

    add("correct", FULL)
    tree(folder / "nested" / "exercises")
    cases["nested"] = (FULL, None, frozenset())
    add("stubs", {ex: 0 for ex in FULL}, upto=0)

    # 06 and 07 run on the kit's engine where the learner's does not work: its loop never runs there.
    add(
        "loop-at-import",
        {**{ex: 0 for ex in FULL}, "01": 14, "06": 10, "07": 10},
        patches=[top("micrograd/engine.py", "while True:\n    pass")],
    )
    add(
        "loop-in-backward",
        "twin",
        "twin-loop-in-backward",
        patches=[(BACKWARD[0], BACKWARD[1], "        while True:\n            pass\n")],
    )
    add(
        "twin-loop-in-backward",
        "twin",
        None,
        patches=[(BACKWARD[0], BACKWARD[1], "        raise NotImplementedError('ex04: backward')\n")],
    )
    add("twin-broken-nn", "twin", None, patches=[top("micrograd/nn.py", "raise ImportError('broken')")])
    add(
        "unbounded-memory",
        "twin",
        "twin-broken-nn",
        patches=[
            top(
                "micrograd/nn.py",
                "_hog = []\nfor _ in range(400):  # 4 GB at most\n    _hog.append(bytearray(10 ** 7))",
            )
        ],
    )
    add("exit-at-import", {**FULL, "07": 0}, patches=[top("train.py", "import sys\nsys.exit(0)")])
    add(
        "os-exit-mid-check",
        "twin",
        "twin-os-exit-mid-check",
        patches=[
            (
                "micrograd/engine.py",
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        if (self.data, other.data) == (2.0, -3.0):\n            import os\n            os._exit(0)\n"
                "        out = Value(self.data * other.data, (self, other), '*')\n",
            )
        ],
    )
    add(
        "twin-os-exit-mid-check",
        "twin",
        None,
        patches=[
            (
                "micrograd/engine.py",
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        if (self.data, other.data) == (2.0, -3.0):\n            raise NotImplementedError\n"
                "        out = Value(self.data * other.data, (self, other), '*')\n",
            )
        ],
    )
    fake = (
        "print('check-01: 14/14 points')\nprint('=' * 20 + ' 78 passed in 0.01s ' + '=' * 20)\n"
        'print(\'{"ok": 14.03, "printed": ""}\')\nprint(\'total: 78/78 points\')'
    )
    add(
        "prints-fake-results",
        {ex: 0 for ex in FULL},
        upto=0,
        patches=[top(f, fake) for f in ("derivatives.py", "micrograd/engine.py", "micrograd/nn.py", "train.py")],
    )
    add(
        "conftest-forces-passes",
        {ex: 0 for ex in FULL},
        upto=0,
        extra={
            "conftest.py": "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
            "def pytest_runtest_makereport(item, call):\n"
            "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
            "pytest.ini": "[pytest]\naddopts = -p no:micrograd-kit\n",
            "micrograd/conftest.py": "raise SystemExit(0)\n",
        },
    )
    targets = [
        f"{kit}/checks/test_01_numeric_derivatives.py",
        f"{kit}/checks/plugin.py",
        f"{kit}/kit/instructor/grade.py",
        f"{kit}/checks/worker/main.py",
        f"{outside}/pwned.txt",
    ]
    # Refused by the audit hook (a write), so check-01, which imports derivatives.py, scores 0 and is flagged.
    add(
        "overwrites-the-kit",
        {**FULL, "01": 0},
        review={"01"},
        patches=[
            top(
                "derivatives.py",
                (
                    f"for _target in {targets!r}:\n"
                    "    try:\n"
                    "        with open(_target, 'a') as _f:\n"
                    "            _f.write('\\n# pwned\\n')\n"
                    "    except OSError:\n"
                    "        pass"
                ),
            )
        ],
    )
    # Reading outside the tree is refused as tampering: check-01 scores 0 (its twin earns the central
    # and partial derivatives there) and is flagged.
    add(
        "copies-the-solutions",
        {**FULL, "01": 0},
        review={"01"},
        patches=[
            STUB_DERIVATIVES,
            top(
                "derivatives.py",
                (f"try:\n    exec(open({kit + '/solutions/derivatives.py'!r}).read())\nexcept OSError:\n    pass"),
            ),
        ],
    )
    # The same stub without the exec: it earns the central and partial derivatives of check-01.
    add("twin-copies-the-solutions", "twin", None, patches=[STUB_DERIVATIVES])
    # Rebinding module attributes raises no audit event, but the worker compares what it relies on
    # after every probe: everything that imports engine.py scores 0 and is marked for review (06 and 07
    # run on the kit's engine, never importing it).
    add(
        "monkeypatches-sys-modules",
        {**{ex: 0 for ex in FULL}, "01": 14, "06": 10, "07": 10},
        review={"02", "03", "04", "05"},
        patches=[
            top(
                "micrograd/engine.py",
                (
                    "import sys as _sys\n"
                    "for _m in list(_sys.modules.values()):\n"
                    "    for _name in ('dumps', 'loads', 'dup2', 'write', 'exit', '_exit', 'kill', 'killpg',\n"
                    "                  'TemporaryFile'):\n"
                    "        if callable(getattr(_m, _name, None)):\n"
                    "            try:\n"
                    '                setattr(_m, _name, lambda *a, **k: \'{"ok": 1.0, "printed": ""}\')\n'
                    "            except (AttributeError, TypeError):\n"
                    "                pass"
                ),
            )
        ],
    )
    # As with `make check`: what is printed is drained and capped by the judge, never an error of the learner's.
    # 64 MB: four times the file-size limit that once failed such writes, 64 times the feedback's bound, and
    # printed well within the 1 s an import gets with the tests' 2.5 s probes, even on two busy cores.
    add(
        "floods-output",
        FULL,
        patches=[
            top(
                "derivatives.py",
                "import sys as _sys\nfor _ in range(64):  # 64 MB\n    _sys.stdout.write('x' * (1 << 20))",
            )
        ],
    )
    # os.fork is refused: every test that imports nn.py scores 0 (check-06) and is flagged; check-07 runs
    # on the kit's network, never importing it.
    add(
        "forks-sleepers",
        {**FULL, "06": 0},
        review={"06"},
        patches=[
            top(
                "micrograd/nn.py",
                (
                    "import os as _os, time as _time\n"
                    "for _ in range(30):\n"
                    "    try:\n"
                    "        if _os.fork() == 0:\n"
                    "            _time.sleep(120)\n"
                    "            _os._exit(0)\n"
                    "    except OSError:\n"
                    "        break"
                ),
            )
        ],
    )
    add("symlink-to-a-system-file", {**{ex: 0 for ex in FULL}, "01": 14, "06": 10, "07": 10}, upto=7)
    (folder / "symlink-to-a-system-file" / "micrograd" / "engine.py").unlink()
    os.symlink("/etc/passwd", folder / "symlink-to-a-system-file" / "micrograd" / "engine.py")
    # As with `make check`, a file that does not import costs only the checks that need it.
    add("invalid-utf8", {**FULL, "01": 0}, extra={"derivatives.py": b"x = '\xff\xfe'\n"})
    add(
        "syntax-error",
        {**FULL, "07": 0},
        patches=[("train.py", "def sgd_step(parameters, lr):", "def sgd_step(parameters, lr)")],
    )
    add(
        "imports-its-own-helper",
        FULL,
        patches=[
            ("derivatives.py", "    return (f(x + h) - f(x)) / h\n", "    return helper.forward(f, x, h)\n"),
            top("derivatives.py", "import helper"),
        ],
        extra={"helper.py": "def forward(f, x, h):\n    return (f(x + h) - f(x)) / h\n"},
    )
    # Another copy of the kit elsewhere on the machine: invisible to the worker.
    copy = folder.parent / "kit-copy"
    shutil.copytree(ROOT / "solutions", copy / "solutions")
    add(
        "copies-another-kit",
        {**FULL, "01": 0},
        review={"01"},
        patches=[
            STUB_DERIVATIVES,
            top(
                "derivatives.py",
                f"try:\n    exec(open({str(copy / 'solutions/derivatives.py')!r}).read())\nexcept OSError:\n    pass",
            ),
        ],
    )
    # Disk: 200 MB and 20,000 files at most, into every writable place. The audit hook refuses the
    # writes (the quota stops whatever gets past it): the tests that import nn.py score 0, flagged;
    # check-07 runs on the kit's network, never importing it.
    add(
        "floods-the-disk",
        {**FULL, "06": 0},
        review={"06"},
        patches=[
            top(
                "micrograd/nn.py",
                "import os as _os\n"
                "for _d in ('/tmp', '/var/tmp', '/dev/shm', '.'):\n"
                "    try:\n"
                "        with open(_os.path.join(_d, 'flood'), 'wb') as _f:\n"
                "            for _ in range(50):\n"
                "                _f.write(b'x' * (1 << 20))\n"
                "    except OSError:\n"
                "        pass\n"
                "    for _i in range(5000):\n"
                "        try:\n"
                "            open(_os.path.join(_d, f'f{_i}'), 'w').close()\n"
                "        except OSError:\n"
                "            break",
            )
        ],
    )
    # Other students' processes: killed, or written into through /proc/<pid>/cwd, if they can be seen.
    # In its own PID namespace it sees only its own uid's processes, so it tries nothing: full marks, never
    # flagged (were another's process visible, the hook would refuse the write and the kill, and flag it).
    add(
        "attacks-other-processes",
        FULL,
        patches=[
            top(
                "micrograd/nn.py",
                "import os as _os, signal as _signal\n"
                "for _pid in [p for p in _os.listdir('/proc') if p.isdigit()]:\n"
                "    try:\n"
                "        if _os.stat(f'/proc/{_pid}').st_uid == _os.getuid():\n"
                "            continue\n"
                "        with open(f'/proc/{_pid}/cwd/micrograd/engine.py', 'a') as _f:\n"
                "            _f.write('\\nraise SystemExit(0)\\n')\n"
                "    except OSError:\n"
                "        pass\n"
                "    try:\n"
                "        _os.kill(int(_pid), _signal.SIGKILL)\n"
                "    except OSError:\n"
                "        pass",
            )
        ],
    )
    # Control characters in a message: escaped in the feedback, never raw.
    raises = (
        "derivatives.py",
        "    return (f(x + h) - f(x - h)) / (2 * h)\n",
        "    raise ValueError('\\x1b[2J\\r[9/9] mallory: 78/78 graded ``` <script>x</script>')\n",
    )
    add("injects-control-characters", "twin", "twin-injects-control-characters", patches=[raises])
    twin = (raises[0], raises[1], "    raise NotImplementedError('ex01: central_derivative')\n")
    add("twin-injects-control-characters", "twin", None, patches=[twin])
    # A 32 GiB sparse file beside the tree: never read, never hashed.
    add("huge-sparse-file", FULL)
    with open(folder / "huge-sparse-file" / "data.bin", "wb") as f:
        f.truncate(32 << 30)
    (folder / "empty").mkdir()
    cases["empty"] = (("ungradable", "no exercise tree was found"), None, frozenset())

    # Zips: a correct one under a single top folder, one with escaping members, damaged ones.
    correct = tree(folder.parent / "zip-src" / "work")
    with zipfile.ZipFile(folder / "zipped.zip", "w") as zf:
        for p in sorted(correct.rglob("*.py")):
            zf.write(p, "work/" + p.relative_to(correct).as_posix())
    cases["zipped"] = (FULL, None, frozenset())
    with zipfile.ZipFile(folder / "zip-escapes.zip", "w") as zf:
        for p in sorted(correct.rglob("*.py")):
            zf.write(p, p.relative_to(correct).as_posix())
        zf.writestr("../escaped.py", "x = 1\n")
        zf.writestr(f"/{outside.as_posix().lstrip('/')}/absolute.py", "x = 1\n")
        link = zipfile.ZipInfo("micrograd/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    cases["zip-escapes"] = (FULL, None, frozenset())
    with zipfile.ZipFile(folder / "zip-control-names.zip", "w") as zf:
        for p in sorted(correct.rglob("*.py")):
            zf.write(p, p.relative_to(correct).as_posix())
        zf.writestr("notes\x1b[31m\n[1/1] mallory: 78/78 graded.txt", "x")
    cases["zip-control-names"] = (FULL, None, frozenset())
    (folder / "damaged.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    cases["damaged"] = (("ungradable", "could not be opened"), None, frozenset())
    with zipfile.ZipFile(folder / "zip-bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("derivatives.py", b"#" * (60 << 20))
    cases["zip-bomb"] = (("ungradable", "more than 50 MB"), None, frozenset())
    with zipfile.ZipFile(folder / "too-many-files.zip", "w") as zf:
        for i in range(2001):
            zf.writestr(f"f{i}.txt", "")
    cases["too-many-files"] = (("ungradable", "2001 entries"), None, frozenset())
    shutil.rmtree(folder.parent / "zip-src")
    return cases
