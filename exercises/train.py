"""Exercise 07: fit a model by gradient descent."""


def mse_loss(ypred, ys):
    """The sum over examples of (ypred_i - ys_i) ** 2, as a Value."""
    # TODO(ex07): Return the sum of the squared differences between predictions and targets.
    raise NotImplementedError("ex07: mse_loss - see docs/07_training.md")


def sgd_step(parameters, lr):
    """Move every parameter a step of size lr against its gradient."""
    # TODO(ex07): Nudge each parameter's data by -lr times its grad.
    raise NotImplementedError("ex07: sgd_step - see docs/07_training.md")


def train(model, xs, ys, steps, lr):
    """Gradient descent on mse_loss; returns each step's loss, measured before that step's update."""
    # TODO(ex07): Repeat for each step: forward pass, loss, zero_grad, backward, update; record the loss.
    raise NotImplementedError("ex07: train - see docs/07_training.md")
