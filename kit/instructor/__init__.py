"""Grading a class: collect each submission, run its checks in a sandbox, write the gradebook."""
