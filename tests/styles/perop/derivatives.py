derivative = lambda f, x, h=1e-4: (f(x + h) - f(x)) / h  # noqa: E731
central_derivative = lambda f, x, h=1e-4: 0.5 * (f(x + h) - f(x - h)) / h  # noqa: E731


def partial_derivative(f, args, i, h=1e-4):
    args = tuple(args)
    plus = args[:i] + (args[i] + h,) + args[i + 1 :]
    minus = args[:i] + (args[i] - h,) + args[i + 1 :]
    return (f(*plus) - f(*minus)) / (2 * h)
