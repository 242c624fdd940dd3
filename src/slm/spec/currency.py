"""ISO 4217 currencies: which codes exist and how many decimals (minor units) each has.

The data is CLDR's, through Babel; slm keeps no currency table of its own.
"""

from __future__ import annotations

from functools import cache

from babel.numbers import get_currency_precision, list_currencies


@cache
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency code (current or historic)."""
    return code in _known()


def minor_units(code: str) -> int:
    """The decimals of ``code``'s minor unit: 2 for EUR, 0 for JPY, 3 for BHD."""
    return int(get_currency_precision(code))
