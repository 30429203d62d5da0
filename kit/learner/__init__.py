"""What a learner runs: the checks, progress, hints, watch mode, solutions once earned, the demo."""
