"""`python -m gallery --out DIR` (what `make gallery` runs, with --out gallery): build and
verify the paper's examples, writing them into DIR."""

from .build import main

raise SystemExit(main())
