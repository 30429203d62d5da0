"""check-01: numeric derivatives (derivatives.py)."""

import math

from checks import numerics
from checks.judge import expect, expect_close, expect_number, fmt, points, wrong
from checks.worker.functions import FUNCTIONS, MULTI


def forward(f, x, h):
    return (f(x + h) - f(x)) / h


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def forward_mistakes(f, x, h):
    return [
        (f(x + h) - f(x), "It looks like the difference was not divided by h."),
        (central(f, x, h), "That is the central difference; derivative() is the forward one: (f(x+h) - f(x)) / h."),
        (
            (f(x) - f(x - h)) / h,
            "That is the backward difference (f(x) - f(x-h)) / h; step forward: (f(x+h) - f(x)) / h.",
        ),
        (forward(f, x, h) / 2, "It looks like the difference was divided by 2h; the forward difference divides by h."),
    ]


def central_mistakes(f, x, h):
    return [
        ((f(x + h) - f(x - h)) / h, "The two points are 2h apart: divide by 2*h, not by h."),
        (forward(f, x, h), "That is the forward difference; the central one is (f(x+h) - f(x-h)) / (2h)."),
        (f(x + h) - f(x - h), "It looks like the difference was not divided by 2h."),
        ((f(x + h) - f(x - h)) / 2 * h, "Mind the brackets: divide by (2 * h), not by 2 and then times h."),
    ]


def cause_of(got, mistakes):
    for value, sentence in mistakes:
        if numerics.close(got, value, 1e-7):
            return sentence
    return None


def expect_slope(probe, func, fn, x, h, want, mistakes):
    f, _, name = FUNCTIONS[fn]
    call = f"{func}(f, {fmt(x)}" + (f", h={h:g})" if h is not None else ")") + f" with {name}"
    got = probe("slope", func=func, fn=fn, x=x, h=h)
    expect_number(got, call)
    if not numerics.close(got, want, 1e-7):
        wrong(
            f"{call} returned {fmt(got)}, expected {fmt(want)}. "
            + (cause_of(got, mistakes) or "Compare your formula with the docstring, bracket by bracket.")
        )


@points(1)
def test_forward_difference_of_the_lecture_parabola_at_3_is_14_03_with_h_0_01(probe):
    f = FUNCTIONS["parabola"][0]
    expect_slope(probe, "derivative", "parabola", 3.0, 0.01, forward(f, 3.0, 0.01), forward_mistakes(f, 3.0, 0.01))


@points(2)
def test_forward_difference_is_f_of_x_plus_h_minus_f_of_x_over_h(probe, rng):
    for fn, (f, _, _) in FUNCTIONS.items():
        x, h = rng.uniform(-2, 2), rng.choice([1e-2, 1e-3, 1e-4])
        expect_slope(probe, "derivative", fn, x, h, forward(f, x, h), forward_mistakes(f, x, h))


def expect_default_h(probe, func, fn, x):
    """The slope without an h argument is the one with h=1e-4, and no other step."""
    f = FUNCTIONS[fn][0]
    formula, mistakes = (forward, forward_mistakes) if func == "derivative" else (central, central_mistakes)
    name = "forward" if func == "derivative" else "central"
    other_steps = [
        (formula(f, x, h), f"That is the {name} difference with h={h:g}: the default is h=1e-4.")
        for h in (1e-3, 1e-5, 1e-6, 1e-2, 1e-8)
    ]
    expect_slope(probe, func, fn, x, None, formula(f, x, 1e-4), other_steps + mistakes(f, x, 1e-4))


@points(1)
def test_forward_difference_uses_h_1e_4_by_default(probe, rng):
    expect_default_h(probe, "derivative", "exp", rng.uniform(0.5, 1.5))


@points(2)
def test_central_difference_is_f_of_x_plus_h_minus_f_of_x_minus_h_over_2h(probe, rng):
    for fn, (f, _, _) in FUNCTIONS.items():
        x, h = rng.uniform(-2, 2), rng.choice([1e-2, 1e-3, 1e-4])
        expect_slope(probe, "central_derivative", fn, x, h, central(f, x, h), central_mistakes(f, x, h))


@points(1)
def test_central_difference_uses_h_1e_4_by_default(probe, rng):
    expect_default_h(probe, "central_derivative", "sin", rng.uniform(0.2, 1.2))


def errors(probe, func, fn, x, h):
    """The error of the learner's slope against the exact derivative, at h and at h/2."""
    exact = FUNCTIONS[fn][1](x)
    return [abs(probe("slope", func=func, fn=fn, x=x, h=step) - exact) for step in (h, h / 2)]


def expect_order(probe, rng, func, name, factor, low, high, other):
    """Halving h divides the error against the exact slope by about `factor` (2: first order, 4: second)."""
    x = rng.uniform(0.3, 1.0)
    big, small = errors(probe, func, "exp", x, 0.02)
    ratio = big / small if small else math.inf
    expect(
        low < ratio < high,
        f"{func}(f, {fmt(x)}, h) with f(x) = exp(x): the error against the exact slope shrank by "
        f"{fmt(ratio)}x when h went from 0.02 to 0.01; a {name} difference's error shrinks by about "
        f"{factor}x. " + other(ratio),
    )


@points(1)
def test_forward_difference_error_halves_when_h_halves(probe, rng):
    expect_order(
        probe,
        rng,
        "derivative",
        "forward",
        2,
        1.6,
        2.4,
        lambda r: (
            "A ratio near 4 means this is really a central difference."
            if 3 < r < 5
            else "Is this the forward difference (f(x+h) - f(x)) / h?"
        ),
    )


@points(1)
def test_central_difference_error_quarters_when_h_halves(probe, rng):
    expect_order(
        probe,
        rng,
        "central_derivative",
        "central",
        4,
        3.4,
        4.6,
        lambda r: (
            "A ratio near 2 means this is really a forward difference."
            if 1.5 < r < 2.5
            else "Are both f(x+h) and f(x-h) in it?"
        ),
    )


def partial_mistakes(f, args, i, h):
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    moved_up, moved_down = [a + h for a in args], [a - h for a in args]
    return [
        (
            (f(*moved_up) - f(*moved_down)) / (2 * h),
            "Every argument was moved; only args[i] may move, the others stay fixed.",
        ),
        ((f(*up) - f(*args)) / h, "That is a forward difference; partial_derivative uses the central one."),
        ((f(*up) - f(*down)) / h, "The two points are 2h apart: divide by 2*h, not by h."),
    ]


def expect_partial(probe, fn, args, i, h=None, rtol=1e-7, as_tuple=False):
    f, grad, name = MULTI[fn]
    step = 1e-4 if h is None else h
    up, down = list(args), list(args)
    up[i] += step
    down[i] -= step
    want = (f(*up) - f(*down)) / (2 * step)
    call = f"partial_derivative(f, {[round(a, 4) for a in args]}, {i}" + (f", h={h:g})" if h else ")") + f" with {name}"
    r = probe("partial", fn=fn, args=list(args), i=i, h=h, as_tuple=as_tuple)
    expect_number(r["value"], call)
    if not numerics.close(r["value"], want, rtol):
        wrong(
            f"{call} returned {fmt(r['value'])}, expected {fmt(want)}. "
            + (
                cause_of(r["value"], partial_mistakes(f, args, i, step))
                or "Move only args[i], by +h and by -h, and divide by 2h."
            )
        )
    return r


@points(1)
def test_partial_derivatives_of_d_equals_a_b_plus_c_are_minus_3_2_and_1(probe):
    for i, want in enumerate([-3.0, 2.0, 1.0]):
        r = expect_partial(probe, "lecture_d", [2.0, -3.0, 10.0], i, rtol=1e-6)
        expect_close(r["value"], want, f"partial_derivative(d, [2.0, -3.0, 10.0], {i})", rtol=1e-6)


@points(2)
def test_partial_derivative_moves_only_args_i_by_a_central_difference(probe, rng):
    for fn in ("mixed", "coupled"):
        n = len(MULTI[fn][1](1.0, 1.0, 1.0) if fn == "mixed" else MULTI[fn][1](1.0, 1.0))
        args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(n)]
        for i in range(n):
            expect_partial(probe, fn, args, i, h=rng.choice([1e-3, 1e-4]))


@points(1)
def test_partial_derivative_leaves_args_unchanged(probe, rng):
    args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(3)]
    r = expect_partial(probe, "mixed", args, 1)
    expect(
        r["args_after"] == args,
        f"partial_derivative(f, args, 1) changed args from {args} to {r['args_after']}. "
        "args must not be mutated: work on copies, e.g. list(args).",
    )


@points(1)
def test_partial_derivative_accepts_a_tuple_of_args(probe, rng):
    args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(2)]
    try:
        expect_partial(probe, "coupled", args, 0, as_tuple=True)
    except Exception as e:
        if getattr(e, "error", {}).get("type") == "TypeError":
            wrong(
                "partial_derivative(f, args, 0) with args a tuple raised TypeError: "
                f"{e.error.get('message')}. args may be any sequence: copy it into a list before changing it."
            )
        raise
