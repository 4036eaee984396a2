"""`python -m bot` is `jola`."""

from bot.cli import main

raise SystemExit(main())
