def mse_loss(ypred, ys):
    return sum((yp - y) ** 2 for yp, y in zip(ypred, ys))


def sgd_step(parameters, lr):
    for p in parameters:
        p.data += -lr * p.grad


def train(model, xs, ys, steps, lr):
    losses = []
    for step in range(steps):
        loss = mse_loss([model(x) for x in xs], ys)
        model.zero_grad()
        loss.backward()
        losses.append(loss.data)
        sgd_step(model.parameters(), lr)
    return losses
