"""Exercise 01: the slope of a function, measured numerically."""


def derivative(f, x, h=1e-4):
    """Forward difference: (f(x+h) - f(x)) / h."""
    # TODO(ex01): Return the forward-difference slope of f at x.
    raise NotImplementedError("ex01: derivative - see docs/01_numeric_derivatives.md")


def central_derivative(f, x, h=1e-4):
    """Central difference: (f(x+h) - f(x-h)) / (2h)."""
    # TODO(ex01): Return the central-difference slope of f at x.
    raise NotImplementedError("ex01: central_derivative - see docs/01_numeric_derivatives.md")


def partial_derivative(f, args, i, h=1e-4):
    """Central difference of f(*args) with respect to args[i], the others held fixed.

    `args` is a sequence of floats; it is not mutated.
    """
    # TODO(ex01): Return the central-difference slope of f(*args) along args[i] alone.
    raise NotImplementedError("ex01: partial_derivative - see docs/01_numeric_derivatives.md")
