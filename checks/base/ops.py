"""The kit's + and * (lessons 02 and 03), put onto a learner's own Value class in a worker whose
checks build on them while the learner's own do not work yet (checks/base/__init__.py).

Written against the contract's Value only (`data`, `grad`, `_prev`, `_op`, `_backward`), so that
the learner's topological order, backward() and other operations run on them unchanged. Nothing
here is secret: a learner's code in that worker can read it, and gains nothing by it, since the
checks that grade + and * never run on it.
"""


def patch(Value, exercises, line=()):
    """Give Value the kit's + and * (02, or 03 whose _backward lives in them), and for 03 also a grad
    that starts at 0.0 and a leaf _backward that does nothing; for 05, only the line that wraps plain
    numbers (`Value(other)` on a Value is that Value), where the learner's wraps Values too. `line`:
    how the learner's own + and * wrap operands, which the kit's then do alike (checks/base/__init__.py, LINE)."""
    if "05" in exercises:
        unwrap(Value)
    if "02" in exercises or "03" in exercises:
        plus_and_times(Value, exercises, line)


def unwrap(Value):
    """Value(v) of a Value v is v itself, as `other if isinstance(other, Value) else Value(other)` makes it."""
    new, init = Value.__new__, Value.__init__

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], Value):
            return args[0]
        return new(cls) if new is object.__new__ else new(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and args[0] is self:
            return  # the Value handed back by __new__: left as it is
        init(self, *args, **kwargs)

    Value.__new__, Value.__init__ = __new__, __init__


def settable(Value):
    """The class the kit's + and * make out of: Value itself, or where out._backward cannot be set
    (a Value under __slots__ whose _backward is a method, as a table of rules has it) a subclass of
    the same name with a slot for it; the learner's own operations still make plain Values."""
    try:
        trial = object.__new__(Value)
        trial._backward = None
    except (AttributeError, TypeError):
        names = {"__slots__": ("_backward",), "__module__": Value.__module__, "__qualname__": Value.__qualname__}
        return type(Value.__name__, (Value,), names)
    return Value


def plus_and_times(Value, exercises, line=()):
    Out = settable(Value)

    def operand(op, other):
        """05's line, as the learner's own + and * have it: a Value wrapped again where theirs does
        that, a plain number left as it is where theirs refuses it (its .data then fails here too)."""
        if isinstance(other, Value):
            return Value(other) if f"{op} value" in line else other
        return other if f"{op} {type(other).__name__}" in line else Value(other)

    def __add__(self, other):
        other = operand("add", other)
        out = Out(self.data + other.data, (self, other), '+')
        out._backward = step('+', out, self, other)
        return out

    def __mul__(self, other):
        other = operand("mul", other)
        out = Out(self.data * other.data, (self, other), '*')
        out._backward = step('*', out, self, other)
        return out

    Value.__add__, Value.__mul__ = __add__, __mul__
    if "03" in exercises:
        init = Value.__init__

        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.grad = 0.0
            # A _backward that is a method (a class per operation, or one that runs what the operation
            # stored, such as a grad_fn) is how the learner's own operations give each node its step:
            # kept, or their nodes would all do nothing. Anything else a leaf gets is replaced.
            if getattr(getattr(self, "_backward", None), "__self__", None) is not self:
                self._backward = lambda: None
            elif getattr(self, "_op", None) in ("+", "*") and getattr(self, "_prev", None):
                # A + or * node that the learner's own code made without the operators (a class per
                # operation, which their - or / builds directly): its step is the kit's too.
                try:
                    self._backward = kit_step(self)
                except AttributeError:  # no room for it under __slots__
                    pass

        Value.__init__ = __init__


def step(op, out, a, b):
    """The kit's _backward for out = a + b or a * b (`op`), from the operands it closes over: the
    operators' own, or a node's children (kit_step). The operators read neither out._prev nor out._op:
    they are the learner's, and may be what is broken where the base stands in."""
    if op == '+':

        def _backward():
            a.grad += out.grad
            b.grad += out.grad

    else:

        def _backward():
            a.grad += b.data * out.grad
            b.grad += a.data * out.grad

    return _backward


def kit_step(out):
    """The kit's _backward for a + or * node the learner's own code made, from its children (one
    child: a + a or a * a)."""
    kids = list(out._prev)
    return step(out._op, out, kids[0], kids[-1])
