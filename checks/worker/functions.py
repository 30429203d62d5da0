"""Functions whose derivatives exercise 01 measures, with their exact derivatives.

Plain Python and math only: the probes hand `f` to the learner's code, and the checks use the
same `f` and its exact derivative to know what to expect.
"""

import math

# name: (f, f', a sentence for messages)
FUNCTIONS = {
    "parabola": (lambda x: 3 * x**2 - 4 * x + 5, lambda x: 6 * x - 4, "f(x) = 3x^2 - 4x + 5"),
    "cubic": (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2, "f(x) = x^3 - 2x"),
    "sin": (math.sin, math.cos, "f(x) = sin(x)"),
    "exp": (math.exp, math.exp, "f(x) = exp(x)"),
    "log": (lambda x: math.log(1 + x * x), lambda x: 2 * x / (1 + x * x), "f(x) = log(1 + x^2)"),
}

# name: (f, gradient, a sentence for messages); f takes several floats
MULTI = {
    "lecture_d": (
        lambda a, b, c: a * b + c,
        lambda a, b, c: [b, a, 1.0],
        "d = a*b + c",
    ),
    "mixed": (
        lambda x, y, z: x * math.sin(y) + z**2 * x,
        lambda x, y, z: [math.sin(y) + z**2, x * math.cos(y), 2 * z * x],
        "f(x, y, z) = x*sin(y) + z^2*x",
    ),
    "coupled": (
        lambda p, q: math.exp(p * q) + p**3,
        lambda p, q: [q * math.exp(p * q) + 3 * p**2, p * math.exp(p * q)],
        "f(p, q) = exp(p*q) + p^3",
    ),
}


def watched(f, args):
    """f, the list of each call's view of the caller's `args` where it differs from their first
    contents (a partial derivative that moves args[i] in place and then puts it back shows there,
    whatever the float round trip gives back), and a list that gets an item for every call."""
    first, changed, calls = list(args), [], []

    def call(*xs):
        calls.append(None)
        now = list(args)
        if now != first and not changed:
            changed.append(now)
        return f(*xs)

    return call, changed, calls
