def mse_loss(ypred, ys):
    return sum([(ygt - yout) ** 2 for ygt, yout in zip(ys, ypred)])


def sgd_step(parameters, lr):
    for i in range(len(parameters)):
        parameters[i].data -= lr * parameters[i].grad


def train(model, xs, ys, steps, lr):
    losses = []
    params = model.parameters()
    for k in range(steps):
        ypred = [model(x) for x in xs]
        loss = mse_loss(ypred, ys)
        model.zero_grad()
        loss.backward()
        losses.append(loss.data)
        sgd_step(params, lr)
    return losses
