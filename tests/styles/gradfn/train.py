from collections.abc import Iterable, Sequence

from micrograd.engine import Value


def mse_loss(ypred: Sequence[Value], ys: Sequence[float]) -> Value:
    loss = Value(0.0)
    for yp, y in zip(ypred, ys):
        diff = yp - y
        loss = loss + diff * diff
    return loss


def sgd_step(parameters: Iterable[Value], lr: float) -> None:
    for p in parameters:
        p.data = p.data - lr * p.grad


def train(model, xs, ys, steps: int, lr: float) -> list[float]:
    losses: list[float] = []
    step = 0
    while step < steps:
        ypred = list(map(model, xs))
        loss = mse_loss(ypred, ys)
        losses.append(loss.data)
        model.zero_grad()
        loss.backward()
        sgd_step(model.parameters(), lr)
        step += 1
    return losses
