"""`python -m bench.soak`: runs the soak (bench/soak/cli.py)."""

import sys

from bench.soak.cli import main

if __name__ == "__main__":
    sys.exit(main())
