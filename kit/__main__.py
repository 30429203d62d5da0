"""`python -m kit COMMAND ...`: the plain equivalent of every make target.

    python -m kit check 03 [--impl DIR]   make check-03 [IMPL=DIR]
    python -m kit check all               make check
    python -m kit stubs [--check]         make stubs / make stubs-check
    python -m kit grade SUBMISSIONS OUT   make grade SUBMISSIONS=DIR OUT=DIR
    python -m kit progress                make progress
    python -m kit hints 03                make hint-03
    python -m kit watch                   make watch
    python -m kit solution 03             make solution-03
    python -m kit demo                    make demo
    python -m kit draw 03                 (draw a lesson's graph with your own Value)
"""
import sys

COMMANDS = {"check": "kit.check", "stubs": "kit.stubs", "grade": "kit.grade", "progress": "kit.progress",
            "hints": "kit.hints", "watch": "kit.watch", "solution": "kit.solution", "demo": "kit.demo",
            "draw": "kit.draw"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = __import__(COMMANDS[argv[0]], fromlist=["main"])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
