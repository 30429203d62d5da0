"""Exercise 01: the slope of a function, measured numerically."""


def derivative(f, x, h=1e-4):
    """Forward difference: (f(x+h) - f(x)) / h."""
    ### BEGIN ex01: Return the forward-difference slope of f at x.
    return (f(x + h) - f(x)) / h
    ### END ex01


def central_derivative(f, x, h=1e-4):
    """Central difference: (f(x+h) - f(x-h)) / (2h)."""
    ### BEGIN ex01: Return the central-difference slope of f at x.
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END ex01


def partial_derivative(f, args, i, h=1e-4):
    """Central difference of f(*args) with respect to args[i], the others held fixed.

    `args` is a sequence of floats; it is not mutated.
    """
    ### BEGIN ex01: Return the central-difference slope of f(*args) along args[i] alone.
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)
    ### END ex01
