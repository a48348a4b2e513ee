"""`python -m tnet`: the command line (tnet/cli.py)."""

import sys

from .cli import main

sys.exit(main())
