"""Training with an explicit accumulator for the loss."""

from micrograd.engine import Value


def mse_loss(ypred, ys):
    loss = Value(0.0)
    for yp, y in zip(ypred, ys):
        diff = yp - y
        loss = loss + diff * diff
    return loss


def sgd_step(parameters, lr):
    for p in parameters:
        p.data = p.data - lr * p.grad


def train(model, xs, ys, steps, lr):
    history = []
    for _ in range(steps):
        loss = mse_loss(list(map(model, xs)), ys)
        history.append(float(loss.data))
        model.zero_grad()
        loss.backward()
        sgd_step(model.parameters(), lr)
    return history
