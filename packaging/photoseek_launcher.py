"""Entry point of the frozen build: the same `photoseek` command, which opens the window when
started with no subcommand (a double-click) and runs the engine with one."""

from app.cli import main

raise SystemExit(main())
