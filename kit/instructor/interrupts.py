"""Ctrl-C during a grading: the first ends it, what finished kept; the gradebook and clean-up are done whole."""

import signal
import threading


class Interrupts:
    """Ctrl-C during a grading, from now until restore(): the first raises KeyboardInterrupt while
    `armed`; any other is ignored, so that the gradebook and the clean-up after it are done whole.
    Only the main thread receives signals; a SIGINT ignored by whoever started the grading stays so."""

    def __init__(self):
        self.armed, self.previous = True, None
        current = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and current not in (signal.SIG_IGN, None):
            self.previous = signal.signal(signal.SIGINT, self.interrupt)

    def interrupt(self, signum, frame):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def restore(self):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
