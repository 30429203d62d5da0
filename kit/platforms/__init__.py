"""Exports to course platforms: nbgrader, Gradescope, GitHub Classroom."""
