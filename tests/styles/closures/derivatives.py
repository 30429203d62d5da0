"""Numeric derivatives, one built from another."""


def derivative(f, x, h=1e-4):
    rise = f(x + h) - f(x)
    return rise / h


def central_derivative(f, x, h=1e-4):
    # A forward difference of width 2h that starts at x - h.
    return derivative(f, x - h, 2 * h)


def partial_derivative(f, args, i, h=1e-4):
    def along(xi):
        moved = [*args]
        moved[i] = xi
        return f(*moved)

    return central_derivative(along, args[i], h)
