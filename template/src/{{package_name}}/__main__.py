"""Run the command line with ``python -m``."""

from .cli.main import main

raise SystemExit(main())
