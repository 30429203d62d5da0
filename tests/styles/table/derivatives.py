"""Numeric derivatives, written with a helper for the nudged arguments."""


def derivative(f, x, h=1e-4):
    return (f(x + h) - f(x)) * (1.0 / h)


def central_derivative(f, x, h=1e-4):
    ahead, behind = f(x + h), f(x - h)
    return (ahead - behind) / h / 2


def partial_derivative(f, args, i, h=1e-4):
    def at(delta):
        return f(*(a + delta if j == i else a for j, a in enumerate(args)))

    return (at(h) - at(-h)) / (2 * h)
