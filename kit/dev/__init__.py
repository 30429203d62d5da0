"""The maintainers' tools: stubs from solutions, figures, mutation testing, benchmarks.

Not shipped in autograder.zip, nor in a Classroom template.
"""
