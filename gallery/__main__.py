"""`python -m gallery` (what `make gallery` runs): build and verify the paper's examples."""

from .build import main

raise SystemExit(main())
