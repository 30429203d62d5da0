"""How the checks word a failure for a learner: errors their code raised, crashes, timeouts.

The judge's plain-data records (from the worker, checks/worker/main.py, and the client,
checks/client.py) come in; sentences a learner can act on come out.
"""

import re
import textwrap

from checks.base import describe as describe_base
from checks.mistakes import advice
from checks.worker import PROBES
from kit.commands import command

TODO = re.compile(r"\bex(\d\d)\b")


def span(exs):
    exs = list(exs)
    contiguous = [int(x) for x in exs] == list(range(int(exs[0]), int(exs[-1]) + 1))
    return f"{exs[0]}-{exs[-1]}" if contiguous and len(exs) > 2 else ", ".join(exs)


def tail(text, lines=12):
    rows = text.rstrip().splitlines()
    return "\n".join((["..."] if len(rows) > lines else []) + rows[-lines:])


def describe(probe):
    """The first line of a probe's docstring, as a clause: 'calls derivatives.derivative(f, x)'."""
    fn = PROBES.get(probe)
    doc = (fn.__doc__ or probe).strip().split("\n\n")[0].replace("\n", " ") if fn else str(probe)
    doc = re.sub(r"\s+", " ", doc).rstrip(".")
    return doc[0].lower() + doc[1:]


def location(where):
    if not where:
        return ""
    text = f"{where['file']}, line {where['line']}"
    if where.get("function") and where["function"] != "<module>":
        text += f", in {where['function']}"
    if where.get("code"):
        text += f":\n    {where['code']}"
    return text


def chain(err):
    """Where the error happened: the learner's own call chain (up to three frames), innermost last."""
    frames = err.get("frames") or ([err["where"]] if err.get("where") else [])
    return "\n  then ".join(location(f) for f in frames if f)


OPERATORS = set("__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __neg__ __pow__".split())


def recursion_advice(err):
    """Advice that fits where the recursion happened: an operator calling itself, or a recursive walk."""
    frames = err.get("frames") or ([err["where"]] if err.get("where") else [])
    inner = frames[-1]["function"].rsplit(".", 1)[-1] if frames else ""
    if inner in ("__add__", "__mul__"):
        sym = "+" if inner == "__add__" else "*"
        return "forward-recursion", (
            f"{inner} calls itself without end: inside it, `self {sym} other` calls {inner} again. Compute out's "
            f"data from the numbers, self.data {sym} other.data."
        )
    cycle = sorted({f["function"].rsplit(".", 1)[-1] for f in frames[-12:]} & OPERATORS - {inner})
    if inner in OPERATORS and cycle:  # two operators, each reaching the other: neither alone is at fault
        return "operator-recursion", (
            f"{inner} and {' and '.join(cycle)} call each other without end: each runs the other again. Write one "
            "of them with operations that do not lead back to the other"
            + (" (for -self, self * -1)." if "__neg__" in (inner, *cycle) else ".")
        )
    if inner in OPERATORS:
        return "operator-recursion", (
            f"{inner} calls itself without end: with a plain number on the left, `other + self` (or "
            "`other * self`, `other - self`, ...) calls the reflected operator of the Value again. Write it with "
            "the Value first (self + other) or with operations you already have (other + (-self), other * self**-1)."
        )
    if inner in ("topological_order", "backward", "build", "build_topo") or err.get("repeats", 0) > 50:
        return "recursion-limit", (
            f"{inner or 'A function'} calls itself once per node, and deep graphs go past Python's recursion "
            "limit: walk the graph with a loop and a stack (a list) instead of a recursive function."
        )
    return None, "Recursion went too deep: look for a function that calls itself without end."


# A number where a Value is due: an operator's out (setting its _backward fails), or, before 05, an operand.
NUMBER_OUT, NUMBER_DATA = (re.compile(rf"'(float|int)' object has no attribute '{a}'") for a in ("_backward", "data"))
# A plain number on the left of an operation that the right operand does not take from that side: a
# reflected method missing. The right operand a class of the learner's, not a built-in type: not None
# (an operation that forgot `return`), nor a list (a network that returns its layer's outputs).
BUILTIN = "NoneType|list|tuple|dict|set|frozenset|str|bytes|int|float|bool|complex|function|method"
NUMBER_LEFT = re.compile(rf"unsupported operand type\(s\) for \S+: '(?:int|float)' and '(?!(?:{BUILTIN})')")
# What the check's own reading met where a Value was due: a built-in type (a class of the learner's, a
# Value without an attribute the contract names, is the learner's own error to show).
GIVEN = re.compile(rf"'({BUILTIN})' object has no attribute ")

HINTS = {
    "OverflowError": "A number got too large for a float: math.exp of a large input overflows; "
    "use a formula that stays finite (math.tanh, for one).",
    "ZeroDivisionError": "Something divided by zero: is h (or 2*h) in the right place?",
    "SyntaxError": "Python could not read the file: fix the syntax at the line shown.",
    "IndentationError": "Python could not read the file: fix the indentation at the line shown.",
    "WrongImport": "The kit grades the files in your implementation folder, and could not find them there.",
    "MemoryError": "Your code ran out of memory: is something growing without end?",
}


REFLECTED = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__"}
REVERSE = {method: op for op, method in REFLECTED.items()}


def reflected(mistake, message):
    """Which reflected method the error's operator calls, where a missing one is the mistake named."""
    m = re.search(r"unsupported operand type\(s\) for (\S+):", message)
    method = REFLECTED.get(m[1]) if m and mistake == "reflected-missing" else None
    return f" Here a number {m[1]} a Value: {method}." if method else ""


def learner_error(e, check=None):
    """(status, words) of the learner's code raising `e` in a test of `check` (None: a first look)."""
    err, probe = e.error, e.probe
    doing, about = describe(probe), getattr(e, "about", None)  # the expression built, where the test says it
    if about:
        doing = doing.replace("the expression", about, 1) if "the expression" in doing else f"{doing} ({about})"
    kind, message, where = err.get("type", "?"), err.get("message", ""), err.get("where")
    callers = [str(f.get("function")).rsplit(".", 1)[-1] for f in (err.get("frames") or [])[:-1]]
    inner = str((where or {}).get("function")).rsplit(".", 1)[-1]
    number = kind == "AttributeError" and NUMBER_DATA.match(message)  # a Value's + or * met a number, before 05
    if (kind == "NotImplementedError" or number) and "_backward" in callers and inner in OPERATORS:
        e.mistake = e.mistake or "value-in-grad"
        said = "with a plain number, which it does not take yet" if number else "which is not done yet"
        return "error", f"While the check {doing}, a _backward used a Value where a plain number is due: it " + (
            f"called {inner} {said}.\n  at {chain(err)}\n" + advice("value-in-grad")
        )
    if kind == "NotImplementedError":
        m = TODO.search(message)
        todo = f"TODO(ex{m[1]})" if m else "a TODO"
        place = f" in {where['file']} ({where['function']})" if where else ""
        if m and check and m[1] > check and where:  # not this exercise undone: its code reached a later one's
            why = f" Python calls it for x {REVERSE[inner]} v where x is not a Value." if inner in REVERSE else ""
            return "error", (
                f"While the check {doing}, your code called {where['function']}, which is exercise {m[1]}'s, not "
                f"done yet, and needed by nothing in check-{check}.{why}\n  at {chain(err)}"
            )
        return "todo", f"not done yet: {todo}{place}."
    if kind == "ImportTimeout":
        return "timeout", f"{message}\n  last seen at {location(where)}" if where else message
    given = kind == "AttributeError" and where is None and GIVEN.match(message)
    if given:  # raised by the check's own reading, no line of the learner's on the way
        if given[1] == "NoneType":
            return "error", (
                f"While the check {doing}, your code gave None where a Value is due ({message}): "
                "is a return missing (return out)?"
            )
        a = "an" if given[1][0] in "aeiou" else "a"
        return "error", (
            f"While the check {doing}, it found {a} {given[1]} where a Value is due ({message}), in what your "
            "code made or returned: no line of yours raised it."
        )
    if kind == "SystemExit":
        return "crash", (
            f"Your code called {message} while the check {doing}: remove the exit.\n{location(where)}".rstrip()
        )
    text = f"While the check {doing}, your code raised {kind}: {message}"
    if where:
        text += f"\n  at {chain(err)}"
    if kind == "RecursionError":
        found, words = recursion_advice(err)
        e.mistake = e.mistake or found
        text += "\n" + words
    elif kind == "ZeroDivisionError" and (e.mistake or "_backward" in str((where or {}).get("function"))):
        text += "\n" + (advice(e.mistake) if e.mistake else "A _backward divided by zero: by an operand?")
    elif kind in HINTS:
        text += "\n" + HINTS[kind]
    elif e.mistake:  # the test knew what this error means
        text += "\n" + advice(e.mistake) + reflected(e.mistake, message)
    elif kind == "AttributeError" and inner in ("__add__", "__mul__") and NUMBER_OUT.match(message):
        sym = "+" if inner == "__add__" else "*"
        text += (
            f"\nout is a plain number there, not a Value: build it as Value(self.data {sym} other.data, "
            f"(self, other), '{sym}'), so that it keeps its children, its op and its _backward."
        )
    elif NUMBER_LEFT.search(message):
        text += (
            "\nA plain number met a Value on the side your class does not handle yet: "
            "see __radd__, __rmul__, __rsub__ and __rtruediv__ (exercise 05)."
        )
    return "error", text


def probe_failure(e):
    if e.kind == "crash":
        cause = (
            "It looks like a crash of Python itself, often from recursion far too deep."
            if "SIG" in e.detail
            else "Does your code call os._exit() or exit the process?"
        )
        text = f"Your code ended the Python process ({e.detail}) while the check {describe(e.probe)}. {cause}"
        if e.where:
            text += f"\n  last seen at {location(e.where)}"
        return "crash", text
    if e.kind == "memory":
        text = (
            f"Your code used more memory than {e.detail} while the check {describe(e.probe)}, and the system "
            "ended it. Look for a list, a graph or a file that grows without end."
        )
        if e.where:
            text += f"\n  last seen at {location(e.where)}"
        return "crash", text
    if e.kind == "timeout":
        return "timeout", f"No answer while the check {describe(e.probe)} ({e.detail})."
    if e.kind in ("tampered", "forged"):
        return "error", tampered([e.detail])
    if e.kind == "check time limit":
        return "timeout", f"Not run: {e.detail}."
    return "error", f"The check could not read a result while it {describe(e.probe)}: {e.kind}: {e.detail}."


def tampered(reasons):
    """A test during which the worker's audit hook refused something only tampering needs."""
    return (
        "The kit refused what your code tried here: " + "; ".join(dict.fromkeys(reasons)) + ". Code under test "
        "may not inspect or alter the kit; this test scores 0 and the submission is marked for review."
    )


def timeout(limit, probe):
    """A test that ran past its `limit` seconds (the judge's own clock), in the middle of `probe`."""
    doc = f" while the check {describe(probe)}" if probe else ""
    return (
        f"Took longer than {limit:g} s{doc}. Look for an endless loop, or for work that grows "
        "exponentially with the size of the graph (each node must be visited once: keep a set of "
        "visited nodes). A machine busy with other work can be that slow too: run the check again."
    )


def builds_on(ex, builds, missing, before=(), base=None):
    """The banner of a check some of whose foundations do not pass (`before`: those that passed once),
    and what it runs on instead (`base`, checks/base/)."""
    first = ", ".join(f"check-{d}" for d in missing)
    verb = "is" if len(missing) == 1 else "are"
    dep = next(iter(missing))
    state = (
        "no longer passing (it passed before: a later edit broke it)"
        if set(missing) <= set(before)
        else ("not passing yet")
    )
    if base:
        then = (
            f"So that this check grades exercise {ex} alone, it runs on {describe_base(base)} instead of yours; "
            f"your own micrograd does not work end to end until {first} {'passes' if len(missing) == 1 else 'pass'}, "
            "which costs no points here."
        )
    elif ex == "03":
        then = "Its tests judge your _backward on the values your own + and * give."
    else:
        them = "it" if len(missing) == 1 else "them"
        then = f"Finish {them} first ({command('check', dep)}): failures below may come from there."
    return f"! check-{ex} builds on {span(builds)}; {first} {verb} {state}. {then}\n" + "\n".join(
        f"! builds on {d}: {why}." for d, (_, why) in missing.items()
    )


def unwrapped(ex):
    """The banner of a check of 02-04 that runs with the kit's line that wraps plain numbers (05)."""
    return (
        f"! check-{ex} runs with the kit's line that wraps plain numbers in a Value, in place of yours: your + "
        "or * wraps an operand that is already a Value in another Value. That line is exercise 05's, and "
        "check-05 grades it; your own micrograd does not work end to end until it passes, which costs no "
        "points here."
    )


def kit_error(e):
    return (
        f"The kit itself failed here ({type(e).__name__}: {e}). This is not your fault; "
        "please report it with this message."
    )


MESSAGE_LIMIT = 6000  # characters of one test's message


def verdict(message, closed=None, printed=""):
    """A failed test's whole message: the broken foundation first where nothing could stand in for
    it (`closed`: its id and sentence), the test's own message, then what the learner's code printed."""
    if closed:
        dep, why = closed
        message = f"builds on {dep}: {why}\n{message}"
    if printed.strip():
        message += "\nYour code printed:\n" + textwrap.indent(tail(printed), "  | ")
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + " ... (cut)"
