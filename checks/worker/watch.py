"""The worker's two threads beside the main one, which runs learner code: portable (no signal, no
select), and started before any learner code runs.

`reader` hands each request line to the main thread, and ends the process when stdin closes: the
judge is gone, on every platform (a parent-death signal is Linux's alone). `watchdog` looks at the
probe in flight: once it runs past its time, or an import of learner code past the import timeout,
it reads the main thread's stack (`sampler`: the one reader of frames the audit hook lets through,
by its code object) and hands the samples to the worker, which replies for the probe once and for
all; the judge then ends the process. `hung_function` names what a hung probe was in.
"""

import _thread
import sys
import time

TICK = 0.05  # seconds between the watchdog's looks
SAMPLES, APART = 4, 0.03  # stacks read once a probe is late, this far apart


def sampler(main_thread):
    """sample(): the main thread's frames now, outermost first, as
    [(frame, filename, line, qualified name or None (3.10), name, first line)]."""
    current_frames, qualified = sys._current_frames, hasattr(sampler.__code__, "co_qualname")

    def sample():
        frame, found, n = current_frames().get(main_thread), [], 0
        while frame is not None and n < 10000:
            code = frame.f_code
            qualname = code.co_qualname if qualified else None
            found.append((frame, code.co_filename, frame.f_lineno, qualname, code.co_name, code.co_firstlineno))
            frame, n = frame.f_back, n + 1
        found.reverse()
        return found

    return sample


def hung_function(samples, learner_calls, root, sep):
    """The learner function a hung probe is in: of the learner frames present in every sample (the
    same calls, still running), the innermost that is a module-level function or a method, or a
    closure's enclosing one: {"module", "function", "file", "line"}, or {} when there is none.
    `learner_calls(walked)` gives [(path, line, qualified name, first line, index in walked)]."""
    first, common = samples[0], learner_calls([s[1:] for s in samples[0]])
    for walked in samples[1:]:
        stack, n = learner_calls([s[1:] for s in walked]), 0
        while n < min(len(common), len(stack)) and first[common[n][4]][0] is walked[stack[n][4]][0]:
            n += 1
        common = common[:n]
    for path, _, function, line, _ in reversed(common):
        named = function.split(".<locals>.")[0]
        if "<" not in named:  # not a lambda or a comprehension at the top level
            relative = path[len(root) :]
            module = (relative[:-3] if relative.endswith(".py") else relative).replace(sep, ".")
            return {"module": module.removesuffix(".__init__"), "function": named, "file": relative, "line": line}
    return {}


def looker(state, importing, import_timeout, monotonic=time.monotonic):
    """look(): (number, module or None) of the probe in flight once it (or its import) is past its
    time, else None (`start` says what `state` and `importing` are). A look allocates no object that
    outlives it, and no container: learner code's Values then get the same addresses (so its sets the
    same order), and the collector runs at the same points, whenever the looks come."""
    acquire, release = state[5].acquire, state[5].release  # bound once: `with` would make two methods a look

    def look():
        acquire()
        try:
            if state[3] or state[4]:
                return None
            entry = importing[0]
            if entry is not None and import_timeout and monotonic() - entry[1] > import_timeout:
                state[4] = True
                return state[0], entry[0]
            if state[2] is not None and monotonic() - state[1] > state[2]:
                state[4] = True
                return state[0], None
            return None
        finally:
            release()

    return look


def start(requests, put, exit_now, state, importing, import_timeout, sample, answer):
    """Start both threads. `state` is [number, started, time or None, done, answered] of the probe
    in flight, under its own lock (state[5]); `importing` is guard.IMPORTING; `answer(number, module
    or None, samples)` replies for a late probe."""
    sleep, look = time.sleep, looker(state, importing, import_timeout)

    def reader():
        try:
            for line in requests:
                put(line)
        except BaseException:  # noqa: BLE001, S110 - a broken pipe is an end too
            pass
        exit_now(0)

    def watchdog():
        while True:
            sleep(TICK)
            found = look()
            if found is None:
                continue
            try:
                samples = []
                for _ in range(SAMPLES):
                    samples.append(sample())
                    sleep(APART)
                answer(found[0], found[1], samples)
            except BaseException:  # noqa: BLE001, S110 - learner code broke what this needs: the judge's clock ends it
                pass
            samples = found = None

    _thread.start_new_thread(reader, ())
    _thread.start_new_thread(watchdog, ())
