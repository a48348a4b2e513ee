"""`python -m tnet`: the command line (tnet/cli.py)."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a child process of the web server imports the main module
    sys.exit(main())
