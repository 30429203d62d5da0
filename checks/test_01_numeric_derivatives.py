"""check-01: numeric derivatives (derivatives.py)."""

import math

from checks import numerics
from checks.judge import apart, blame, diagnose, expect, expect_close, expect_number, fmt, points, wrong
from checks.predictions import central, central_variants, forward, forward_variants, partial_variants
from checks.worker.functions import FUNCTIONS, MULTI

STEPS = [1e-2, 1e-3, 1e-4, -1e-3]  # a negative step too: the formulas hold for it as they are
# Steps whose slopes lie far (1e-9 and more) from the slope with h=1e-4, for the default-step tests.
OTHER_STEPS = (1e-2, 1e-3, 1e-5, 1e-6)
DEFAULT_RTOL = 1e-11  # the same formula at the same step agrees to rounding (1e-12)


def expect_slope(probe, func, fn, x, h, want, predictions, rtol=1e-7):
    f, _, name = FUNCTIONS[fn]
    call = f"{func}(f, {fmt(x)}" + (f", h={fmt(h)})" if h is not None else ")") + f" with {name}"
    got = probe("slope", func=func, fn=fn, x=x, h=h)
    expect_number(got, call)
    if not numerics.close(got, want, rtol):
        blame(
            f"{call} returned {fmt(got)}, expected {fmt(want)}.",
            diagnose(got, predictions, want=want),
            "Compare your formula with the docstring, bracket by bracket.",
        )


def told_apart(got, slopes, want):
    """The steps of `slopes` ([(h, slope)]) whose slope `got` is: within a hundredth of that slope's distance
    from `want`, the slope with h = 1e-4. Tiny steps' slopes lie close together: a formula of its own (a half
    step) may come within 1e-9 of one and be no slope at that step."""
    return [(h, v) for h, v in slopes if abs(got - v) * 100 < abs(v - want)]


def default_step(got, formula, f, x, variants, want):
    """(mistake, the step it used) for a slope taken without h: a wrong formula, or the right one at
    another step."""
    steps = told_apart(got, [(h, formula(f, x, h)) for h in OTHER_STEPS], want)
    found = diagnose(got, [*variants.items(), *[("wrong-default-h", v) for _, v in steps]], rtol=1e-9, want=want)
    return found, (steps[0][0] if found == "wrong-default-h" and len(steps) == 1 else None)


def expect_default_h(probe, func, fn, x):
    """The slope without an h argument is the one with h=1e-4, and no other step."""
    f, _, name = FUNCTIONS[fn]
    formula, variants = (forward, forward_variants) if func == "derivative" else (central, central_variants)
    want = formula(f, x, 1e-4)
    call = f"{func}(f, {fmt(x)}) with {name}"
    got = probe("slope", func=func, fn=fn, x=x, h=None)
    expect_number(got, call)
    if not numerics.close(got, want, DEFAULT_RTOL):
        found, step = default_step(got, formula, f, x, variants(f, x, 1e-4), want)
        shown, wanted = apart(got, want)  # slopes a step apart agree to six digits: show where they part
        blame(
            f"{call} returned {shown}, expected {wanted}, the slope with h = 1e-4."
            + (f" That is the slope with h = {fmt(step)}." if step else ""),
            found,
        )


@points(1)
def test_forward_difference_of_the_lecture_parabola_at_3_is_14_03_with_h_0_01(probe):
    """The forward difference of the lecture's parabola at 3 is 14.03 with h = 0.01."""
    f = FUNCTIONS["parabola"][0]
    expect_slope(probe, "derivative", "parabola", 3.0, 0.01, forward(f, 3.0, 0.01), forward_variants(f, 3.0, 0.01))


@points(2)
def test_forward_difference_is_f_of_x_plus_h_minus_f_of_x_over_h(probe, rng):
    """The forward difference is (f(x+h) - f(x)) / h, for a positive or a negative h."""
    for fn, (f, _, _) in FUNCTIONS.items():
        x, h = rng.uniform(-2, 2), rng.choice(STEPS)
        expect_slope(probe, "derivative", fn, x, h, forward(f, x, h), forward_variants(f, x, h))


@points(1)
def test_forward_difference_uses_h_1e_4_by_default(probe, rng):
    """The forward difference uses h = 1e-4 by default."""
    expect_default_h(probe, "derivative", "exp", rng.uniform(0.5, 1.5))


@points(2)
def test_central_difference_is_f_of_x_plus_h_minus_f_of_x_minus_h_over_2h(probe, rng):
    """The central difference is (f(x+h) - f(x-h)) / 2h, for a positive or a negative h."""
    for fn, (f, _, _) in FUNCTIONS.items():
        x, h = rng.uniform(-2, 2), rng.choice(STEPS)
        expect_slope(probe, "central_derivative", fn, x, h, central(f, x, h), central_variants(f, x, h))


@points(1)
def test_central_difference_uses_h_1e_4_by_default(probe, rng):
    """The central difference uses h = 1e-4 by default."""
    expect_default_h(probe, "central_derivative", "exp", rng.uniform(0.5, 1.5))


def errors(probe, func, fn, x, h):
    """The error of the learner's slope against the exact derivative, at h and at h/2."""
    _, df, name = FUNCTIONS[fn]
    slopes = [probe("slope", func=func, fn=fn, x=x, h=step) for step in (h, h / 2)]
    for step, got in zip((h, h / 2), slopes):
        expect_number(got, f"{func}(f, {fmt(x)}, h={fmt(step)}) with {name}")
    return [abs(got - df(x)) for got in slopes]


def expect_order(probe, rng, func, name, factor, low, high, other):
    """Halving h divides the error against the exact slope by about `factor` (2: first order, 4: second)."""
    x = rng.uniform(0.3, 1.0)
    big, small = errors(probe, func, "exp", x, 0.02)
    ratio = big / small if small else math.inf
    mistake, sentence = other(ratio)
    went = f"shrank by {fmt(ratio)}x" if ratio >= 1 else f"grew by {fmt(1 / ratio)}x"
    expect(
        low < ratio < high,
        f"{func}(f, {fmt(x)}, h) with f(x) = exp(x): the error against the exact slope {went} when h went "
        f"from 0.02 to 0.01; a {name} difference's error shrinks by about {factor}x. " + sentence,
        mistake,
    )


@points(1)
def test_forward_difference_error_halves_when_h_halves(probe, rng):
    """The forward difference's error halves when h halves."""
    expect_order(
        probe,
        rng,
        "derivative",
        "forward",
        2,
        1.6,
        2.4,
        lambda r: (
            ("central-for-forward", "A ratio near 4 means this is really a central difference.")
            if 3.4 < r < 4.6
            else (None, "A forward difference is (f(x+h) - f(x)) / h.")
        ),
    )


@points(1)
def test_central_difference_error_quarters_when_h_halves(probe, rng):
    """The central difference's error quarters when h halves."""
    expect_order(
        probe,
        rng,
        "central_derivative",
        "central",
        4,
        3.4,
        4.6,
        lambda r: (
            ("forward-for-central", "A ratio near 2 means this is really a one-sided difference.")
            if 1.6 < r < 2.4
            else (None, "A central difference is (f(x+h) - f(x-h)) / (2h).")
        ),
    )


def call_of(fn, args, i, h, as_tuple=False):
    shown = [round(a, 4) for a in args]
    return (
        f"partial_derivative(f, {tuple(shown) if as_tuple else shown}, {i}"
        + (f", h={fmt(h)})" if h else ")")
        + (f" with {MULTI[fn][2]}")
    )


def expect_partial(probe, fn, args, i, h=None, rtol=1e-7, as_tuple=False):
    f = MULTI[fn][0]
    step = 1e-4 if h is None else h
    up, down = list(args), list(args)
    up[i] += step
    down[i] -= step
    want = (f(*up) - f(*down)) / (2 * step)
    call = call_of(fn, args, i, h, as_tuple)
    r = probe("partial", fn=fn, args=list(args), i=i, h=h, as_tuple=as_tuple)
    expect_number(r["value"], call)
    if not numerics.close(r["value"], want, rtol):
        got, wanted = apart(r["value"], want)
        blame(
            f"{call} returned {got}, expected {wanted}.",
            diagnose(r["value"], partial_variants(f, args, i, step), want=want),
            "Move only args[i], by +h and by -h, and divide by 2h.",
        )
    return r


@points(1)
def test_partial_derivatives_of_d_equals_a_b_plus_c_are_minus_3_2_and_1(probe):
    """The partial derivatives of d = a*b + c at (2, -3, 10) are -3, 2 and 1."""
    for i, want in enumerate([-3.0, 2.0, 1.0]):
        r = expect_partial(probe, "lecture_d", [2.0, -3.0, 10.0], i, rtol=1e-6)
        expect_close(r["value"], want, f"partial_derivative(d, [2.0, -3.0, 10.0], {i})", rtol=1e-6)


@points(1)
def test_partial_derivative_moves_only_args_i_by_a_central_difference(probe, rng):
    """partial_derivative moves only args[i], by a central difference."""
    for fn in ("mixed", "coupled"):
        n = len(MULTI[fn][1](1.0, 1.0, 1.0) if fn == "mixed" else MULTI[fn][1](1.0, 1.0))
        args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(n)]
        for i in range(n):
            # Steps at which any other formula parts from this one by far more than rtol (a half step by h**2 / 8):
            # at 1e-4 it would pass or fail with the draw, and cost points at some seeds only.
            expect_partial(probe, fn, args, i, h=rng.choice([1e-2, 5e-3, -1e-2]))


@points(1)
def test_partial_derivative_uses_h_1e_4_by_default(probe, rng):
    """partial_derivative uses h = 1e-4 by default."""
    args = [round(rng.uniform(0.5, 1.0), 6) for _ in range(2)]
    f = MULTI["coupled"][0]
    slopes = {h: mistakes_free_partial(f, args, 0, h) for h in OTHER_STEPS}
    want = mistakes_free_partial(f, args, 0, 1e-4)
    # The step first: a default of 1e-2 is off by more than the formula's check allows, and is not a formula's slip.
    r = probe("partial", fn="coupled", args=list(args), i=0, h=None, as_tuple=False)
    expect_number(r["value"], call_of("coupled", args, 0, None))
    used = [h for h, v in told_apart(r["value"], slopes.items(), want) if numerics.close(r["value"], v, 1e-9)]
    if not used:
        r = expect_partial(probe, "coupled", args, 0)  # the right formula, at rtol 1e-7
    if not numerics.close(r["value"], want, DEFAULT_RTOL):
        got, wanted = apart(r["value"], want)  # slopes a step apart agree to six digits: show where they part
        blame(
            f"{call_of('coupled', args, 0, None)} returned {got}, expected {wanted}, the slope "
            "with h = 1e-4." + (f" That is the slope with h = {fmt(used[0])}." if len(used) == 1 else ""),
            "wrong-default-h" if used else None,
        )


def mistakes_free_partial(f, args, i, h):
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


@points(1)
def test_partial_derivative_leaves_args_unchanged(probe, rng):
    """partial_derivative leaves args unchanged."""
    args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(3)]
    r = probe("partial", fn="mixed", args=list(args), i=1, h=None, as_tuple=False)
    # Unchanged by a slope actually taken: a partial_derivative that returns nothing, or never calls f,
    # leaves args alone without doing the work.
    expect_number(r["value"], "partial_derivative(f, args, 1)")
    expect(r["calls"] > 0, f"partial_derivative(f, args, 1) returned {fmt(r['value'])} without calling f.")
    expect(
        r["args_after"] == args,
        f"partial_derivative(f, args, 1) changed args from {args} to {r['args_after']}.",
        "mutates-args",
    )
    # Moved in place and put back: seen while f runs, at every seed (what the float round trip gives
    # back depends on the numbers).
    expect(
        r["args_during"] is None,
        f"partial_derivative(f, args, 1) changed args from {args} to {r['args_during']} while it ran, and then put "
        "it back: copy args into new lists for the moved points, and leave the caller's alone.",
        "mutates-args",
    )


@points(1)
def test_partial_derivative_accepts_a_tuple_of_args(probe, rng):
    """partial_derivative accepts a tuple of args."""
    args = [round(rng.uniform(-1.5, 1.5), 6) for _ in range(2)]
    try:
        expect_partial(probe, "coupled", args, 0, h=1e-4, as_tuple=True)  # h given: the default is another test's
    except Exception as e:
        if getattr(e, "error", {}).get("type") == "TypeError":
            wrong(
                "partial_derivative(f, args, 0) with args a tuple raised TypeError: "
                f"{e.error.get('message')}. args may be any sequence: copy it into a list before changing it."
            )
        raise
