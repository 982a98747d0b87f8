"""Entry point for `python -m bre_core`."""

import sys

from bre_core.cli import main

if __name__ == "__main__":  # not on import (the doctest run imports every module)
    sys.exit(main())
