"""Exercise 07: fit a model by gradient descent."""


def mse_loss(ypred, ys):
    """The sum over examples of (ypred_i - ys_i) ** 2, as a Value."""
    ### BEGIN ex07: Return the sum of the squared differences between predictions and targets.
    return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys))
    ### END ex07


def sgd_step(parameters, lr):
    """Move every parameter a step of size lr against its gradient."""
    ### BEGIN ex07: Nudge each parameter's data by -lr times its grad.
    for p in parameters:
        p.data -= lr * p.grad
    ### END ex07


def train(model, xs, ys, steps, lr):
    """Gradient descent on mse_loss; returns each step's loss, measured before that step's update."""
    ### BEGIN ex07: Repeat for each step: forward pass, loss, zero_grad, backward, update; record the loss.
    losses = []
    for k in range(steps):
        ypred = [model(x) for x in xs]
        loss = mse_loss(ypred, ys)
        model.zero_grad()
        loss.backward()
        sgd_step(model.parameters(), lr)
        losses.append(loss.data)
    return losses
    ### END ex07
