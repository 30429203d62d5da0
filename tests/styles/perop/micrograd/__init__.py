"""micrograd."""
