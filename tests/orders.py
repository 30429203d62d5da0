"""`python tests/orders.py HASHSEED ARGS...` runs `python -m kit ARGS` with its workers' string
hashing seeded by HASHSEED and address-space randomisation left on: the set orders a worker sees
then change from run to run, as on macOS or in a container that refuses personality(2).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checks import process  # noqa: E402

process.ADDR_NO_RANDOMIZE = 0  # the worker's personality is left as it was: addresses vary
worker_env = process.worker_env
process.worker_env = lambda env: {**worker_env(env), "PYTHONHASHSEED": sys.argv[1]}

from kit.__main__ import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
