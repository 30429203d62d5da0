import statistics


def derivative(f, x, h=1e-4):
    return (f(x + h) - f(x)) * (1 / h)


def central_derivative(f, x, h=1e-4):
    # the mean of the slopes to the right and to the left of x
    right = (f(x + h) - f(x)) / h
    left = (f(x) - f(x - h)) / h
    return statistics.fmean([right, left])


def partial_derivative(f, args, i, h=1e-4):
    shifted = lambda d: [a + d if j == i else a for j, a in enumerate(args)]  # noqa: E731
    return (f(*shifted(h)) - f(*shifted(-h))) / h / 2
