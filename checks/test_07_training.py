"""check-07: a training loop (train.py)."""

from checks import numerics
from checks.inputs import as_numeric, random_layers, training_run
from checks.judge import LearnerError, diagnose, expect, expect_close, fmt, points, wrong
from checks.mistakes import advice

LOSS_THRESHOLD = 0.05  # after 60 steps at lr 0.1 on the lecture's four examples


@points(2)
def test_mse_loss_is_the_sum_of_squared_errors_and_its_gradient_is_2_times_the_error(probe, rng):
    """mse_loss is the sum of squared errors, and its gradient is 2 times the error."""
    ypred = [round(rng.uniform(-1, 1), 4) for _ in range(4)]
    ys = [rng.choice([-1.0, 1.0]) for _ in ypred]
    got = probe("mse", ypred=ypred, ys=ys)
    call = f"mse_loss(ypred={ypred}, ys={ys})"
    expect(got["is_value"], f"{call} returned {got['data']}, expected a Value, so that backward() can run.")
    want = numerics.mse(ypred, ys)
    expect_close(
        got["data"],
        want,
        call,
        predictions=[
            ("loss-formula", sum(abs(p - y) for p, y in zip(ypred, ys))),
            ("loss-formula", sum(p - y for p, y in zip(ypred, ys)) ** 2),
            ("loss-formula", sum(p * p - y * y for p, y in zip(ypred, ys))),
            ("loss-mean", want / len(ys)),
        ],
        otherwise="Sum (ypred_i - ys_i) ** 2 over the examples.",
    )
    for i, (p, y, g) in enumerate(zip(ypred, ys, got["grad"])):
        expect_close(g, 2 * (p - y), f"After backpropagating {call}, ypred[{i}].grad", numerics.GRAD_RTOL)


@points(2)
def test_sgd_step_moves_each_parameter_by_minus_lr_times_its_grad(probe, rng):
    """sgd_step moves each parameter by -lr times its grad."""
    data = [round(rng.uniform(-1, 1), 4) for _ in range(5)]
    grads = [round(rng.uniform(-2, 2), 4) for _ in data]
    lr = rng.choice([0.05, 0.1, 0.2])
    got = probe("sgd", data=data, grads=grads, lr=lr)
    # First: a step that zeroes the grads before it uses them leaves p.data as it was, and is not one
    # that rebinds p (sgd-no-update).
    expect(got["grads"] == grads, "sgd_step changed the grads; it should only change p.data.")
    # Some moved and some not: no step that rebinds p (it moves none), so the facts without a cause.
    left = [i for i, (d, g, have) in enumerate(zip(data, grads, got["data"])) if have == d and g != 0]
    which = f"parameter{'s' if len(left) > 1 else ''} {', '.join(map(str, left))} (counting from 0)"
    expect(
        not left or len(left) == len(data),
        f"sgd_step(params, lr={lr}) on {len(data)} parameters left {which} unchanged and moved the others: "
        "each parameter moves by -lr times its grad.",
    )
    for d, g, have in zip(data, grads, got["data"]):
        expect_close(
            have,
            d - lr * g,
            f"sgd_step(params, lr={lr}) with p.data = {d}, p.grad = {g}: p.data",
            predictions={"sgd-sign": d + lr * g, "sgd-no-lr": d - g, "sgd-replaces": -lr * g, "sgd-no-update": d},
            otherwise="p.data -= lr * p.grad.",
        )


def setup(rng, sizes=(2, 3, 1), n=3):
    values = random_layers(rng, list(sizes))
    xs = [[round(rng.uniform(-2, 2), 4) for _ in range(sizes[0])] for _ in range(n)]
    ys = [rng.choice([-1.0, 1.0]) for _ in xs]
    return values, xs, ys


def expected_run(values, xs, ys, steps, lr):
    """Losses and parameters after `steps` of gradient descent with finite-difference gradients."""
    layers, losses = as_numeric(values), []
    for _ in range(steps):
        loss, grad = numerics.loss_gradient(layers, xs, ys)
        losses.append(loss)
        layers = numerics.unflatten([p - lr * g for p, g in zip(numerics.flatten(layers), grad)], layers)
    return losses, numerics.flatten(layers)


def flat(layers):
    return [p for layer in layers for n in layer for p in (*n["w"], n["b"])]


def expect_training(probe, rng, steps):
    values, xs, ys = setup(rng)
    lr, junk = 0.1, 0.5
    got = probe("train", nin=2, nouts=[3, 1], seed=0, values=values, xs=xs, ys=ys, steps=steps, lr=lr, junk_grad=junk)
    call = f"train(MLP(2, [3, 1]), xs, ys, steps={steps}, lr={lr})"
    losses, params = expected_run(values, xs, ys, steps, lr)
    expect_losses(got, call, steps)
    after, _ = expected_run(values, xs, ys, steps + 1, lr)
    # The first loss comes before any update; a later one also shows the updates before it, so the
    # parameters are judged (and a wrong update named) before the later losses are.
    expect_loss(got["losses"][0], losses[0], f"{call}: the loss of step 0", after[1])
    expect_parameters(got, values, xs, ys, steps, lr, junk, params, call, probe)
    for i in range(1, steps):
        expect_loss(got["losses"][i], losses[i], f"{call}: the loss of step {i}", after[i + 1])


def expect_loss(have, want, what, after_update):
    """A step's loss; recorded after that step's update, it is the next step's loss before it."""
    expect_close(have, want, what, 1e-7, predictions={"loss-after-update": after_update})


def expect_parameters(got, values, xs, ys, steps, lr, junk, params, call, probe):
    """The parameters after train() are those of gradient descent; else the update's mistake, where the
    numbers and train()'s own calls show it."""
    have = flat(got["layers"])
    if not all(numerics.close(h, w, 1e-6) for h, w in zip(have, params)):
        start = flat(values)
        dirty = expected_dirty(values, xs, ys, steps, lr, junk)
        found = diagnose(
            have,
            {
                "zero-grad-misplaced": start,
                "no-zero-grad": dirty,
                "sgd-sign": expected_run_sign(values, xs, ys, steps, lr),
            },
            rtol=1e-6,
            want=params,
        )
        found = confirmed(found, got.get("calls"), probe)
        cause = (
            advice(found)
            if found
            else "Each step: ypred = [model(x) for x in xs], loss = mse_loss(ypred, ys), model.zero_grad(), "
            "loss.backward(), sgd_step(model.parameters(), lr)."
        )
        i = next(i for i, (h, w) in enumerate(zip(have, params)) if not numerics.close(h, w, 1e-6))
        wrong(
            f"After {call} (the parameters' grads held {fmt(junk)} beforehand), parameter {i} is {fmt(have[i])}, "
            f"expected {fmt(params[i])} from gradients by finite differences. " + cause,
            found,
        )


def confirmed(found, calls, probe):
    """The id the parameters predicted, where train()'s own calls bear it out: unchanged parameters
    come from a zero_grad between backward and the update only if the log shows one there, else from
    an sgd_step that moves nothing (asked directly); grads never zeroed, only if zero_grad never ran;
    a step with the gradient, only if sgd_step itself takes one (asked directly: train may pass it -lr)."""
    if found == "sgd-sign":
        try:
            moved = probe("sgd", data=[0.5], grads=[1.0], lr=0.1)["data"]
        except LearnerError:
            return None
        return found if moved and numerics.close(moved[0], 0.6) else None
    if calls is None or found not in ("zero-grad-misplaced", "no-zero-grad"):
        return found
    if found == "no-zero-grad":
        return found if "zero_grad" not in calls and "backward" in calls else None
    steps = "".join({"zero_grad": "z", "backward": "b", "sgd_step": "s"}[c] for c in calls)
    # A zero_grad between a backward and the update it feeds: not the next step's zero_grad of a loop
    # that updates before its backward (zsb zsb), whose zero_grad is in place and whose update is not.
    first_update = steps.find("s")
    if "bz" in steps.replace("s", "|") and (first_update < 0 or steps.find("b") < first_update):
        return found
    moved = probe("sgd", data=[0.5], grads=[1.0], lr=0.1)
    return "sgd-no-update" if moved == {"data": [0.5], "grads": [1.0]} else None


def expect_losses(got, call, steps):
    """train returned a list of `steps` floats."""
    losses = got["losses"]
    expect(isinstance(losses, list), f"{call} returned {fmt(losses)}, expected a list of {steps} losses, one per step.")
    # A count and a few numbers in short digits: the whole list in full digits is a wall of text, and
    # its last digits differ between Pythons' maths.
    shown = fmt(losses) if len(losses) <= 4 else fmt(losses[:3])[:-1] + ", ...]"
    expect(len(losses) == steps, f"{call} returned {len(losses)} losses {shown}, expected {steps}, one per step.")
    kinds = [k for k in got["loss_kinds"] or [] if k not in ("float", "int")]
    expect(
        not kinds,
        f"{call} returned losses of type {', '.join(kinds)}, expected floats.",
        "losses-not-floats",
    )


def expected_dirty(values, xs, ys, steps, lr, junk):
    """Parameters after `steps` of descent that never zeroes the grads."""
    layers = as_numeric(values)
    acc = [junk] * len(numerics.flatten(layers))
    for _ in range(steps):
        _, grad = numerics.loss_gradient(layers, xs, ys)
        acc = [a + g for a, g in zip(acc, grad)]
        layers = numerics.unflatten([p - lr * a for p, a in zip(numerics.flatten(layers), acc)], layers)
    return numerics.flatten(layers)


def expected_run_sign(values, xs, ys, steps, lr):
    return expected_run(values, xs, ys, steps, -lr)[1]


@points(2)
def test_one_step_of_train_matches_gradient_descent_by_finite_differences(probe, rng):
    """One step of train matches gradient descent by finite differences."""
    expect_training(probe, rng, 1)


@points(2)
def test_two_steps_of_train_match_gradient_descent_by_finite_differences(probe, rng):
    """Two steps of train match gradient descent by finite differences."""
    expect_training(probe, rng, 2)


@points(2)
def test_training_on_the_lecture_examples_brings_the_loss_below_0_05(probe, rng):
    """Training on the lecture's examples brings the loss below 0.05."""
    values, xs, ys = training_run(rng)  # a verified start: the verdict does not depend on the seed
    got = probe("train", nin=3, nouts=[4, 4, 1], seed=0, values=values, xs=xs, ys=ys, steps=60, lr=0.1)
    losses = got["losses"]
    expect_losses(got, "train(MLP(3, [4, 4, 1]), xs, ys, steps=60, lr=0.1)", 60)
    expect(
        losses[-1] < LOSS_THRESHOLD and losses[-1] < losses[0],
        f"After 60 steps at lr 0.1 on the lecture's four examples, MLP(3, [4, 4, 1]) has loss "
        f"{fmt(losses[-1])} (it started at {fmt(losses[0])}); expected below {LOSS_THRESHOLD}.",
    )
    # The losses are train's word; the model it trained is the evidence.
    params = flat(got["layers"])
    model = as_numeric(got["layers"]) if all(numerics.is_number(p) for p in params) else None
    now = numerics.mse([numerics.mlp(model, x) for x in xs], ys) if model else None
    expect(
        now is not None and now < LOSS_THRESHOLD,
        f"train(MLP(3, [4, 4, 1]), xs, ys, steps=60, lr=0.1) returned losses down to {fmt(losses[-1])}, but the "
        f"model it trained has loss {fmt(now) if now is not None else 'that cannot be computed'} on those examples "
        "(the sum of squared errors, computed from its parameters once train returned): the trained model's loss "
        "by the sum of squared errors is what this test asks to fall below the threshold.",
    )
