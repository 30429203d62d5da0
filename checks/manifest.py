"""The seven exercises: their order, slugs, titles, and what each builds on.

This is the one place that names the exercises; the stub generator, the checks and the
tooling all read it.
"""

# id: (slug, title, the exercises this one builds on)
EXERCISES = {
    "01": ("numeric_derivatives", "numeric derivatives", ()),
    "02": ("value_graph", "the Value graph", ()),
    "03": ("chain_rule", "local gradients and the chain rule", ("02",)),
    "04": ("backward", "topological order and backward()", ("02", "03")),
    "05": ("operations", "tanh and the other operations", ("02", "03")),
    "06": ("neural_net", "Neuron, Layer and MLP", ("02", "03", "04", "05")),
    "07": ("training", "a training loop", ("02", "03", "04", "05", "06")),
}

# The learner's tree, as fixed by the contract.
TREE = (
    "derivatives.py",
    "micrograd/__init__.py",
    "micrograd/engine.py",
    "micrograd/nn.py",
    "train.py",
)


def doc_path(ex):
    """The lesson of exercise `ex`, relative to the kit's root."""
    return f"docs/{ex}_{EXERCISES[ex][0]}.md"


def check_file(ex):
    return f"checks/test_{ex}_{EXERCISES[ex][0]}.py"
