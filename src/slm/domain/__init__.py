"""Pure model and arithmetic: no I/O, no framework imports (stdlib and numpy only)."""
