"""micrograd, another way."""
