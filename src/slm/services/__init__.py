"""Use cases: they own transactions and orchestration, never build SQL or HTTP."""
