"""Run the command line with ``python -m``."""

from .cli import main

raise SystemExit(main())
