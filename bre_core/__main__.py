"""Entry point for `python -m bre_core`."""

import sys

from bre_core.cli import main

sys.exit(main())
