"""Plain-English formatting of probabilities, shares, thresholds and estimates, shared by every
text and table."""

from __future__ import annotations

import math


def format_probability(p: float, *against: float) -> str:
    """``p`` as a percentage with one decimal, or with as many more (up to four) as it takes
    not to read as one of the thresholds ``against`` that it differs from, nor as 0% or 100%.
    Exactly 0 or 1 (which only a share of draws gives) reads "less than 0.1%" or "more than
    99.9%": a few thousand draws cannot resolve a probability beyond that.

    Parameters
    ----------
    p : float
        A probability.
    *against : float
        Thresholds it must not be mistaken for.

    Returns
    -------
    str

    Examples
    --------
    >>> format_probability(0.0999, 0.1), format_probability(0.25), format_probability(0.0004)
    ('9.99%', '25.0%', '0.04%')
    >>> format_probability(0.0)
    'less than 0.1%'
    """
    def fmt(x: float, d: int) -> str:
        return f"{100 * x:.{d}f}%"

    if p <= 0.0 or p >= 1.0:  # a share of draws: 0 and 1 mean only "beyond their resolution"
        return "less than 0.1%" if p <= 0.0 else "more than 99.9%"

    for d in range(1, 5):
        text = fmt(p, d)
        hides_threshold = any(p != t and text == fmt(t, d) for t in against)
        hides_extreme = (0 < p < 1) and text in (fmt(0.0, d), fmt(1.0, d))
        if not (hides_threshold or hides_extreme):
            return text
    if 0 < p < 1e-4:
        return "less than 0.01%"
    if 1 - 1e-4 < p < 1:
        return "more than 99.99%"
    return fmt(p, 4)


def format_estimate(x: float) -> str:
    """A posterior number for a table: at least three decimals and three significant figures.

    A ratio's interval bound such as 1.016 or 0.996 therefore never reads as "1" (it reads
    1.000 only when it is 1 to three decimals), and a small scale such as 0.00347 keeps its
    digits. Beyond eight decimals it is written in scientific notation.

    Parameters
    ----------
    x : float

    Returns
    -------
    str

    Examples
    --------
    >>> format_estimate(1.016), format_estimate(0.9996), format_estimate(0.996)
    ('1.016', '1.000', '0.996')
    >>> format_estimate(0.00347), format_estimate(24.48), format_estimate(-3.8), format_estimate(0)
    ('0.00347', '24.480', '-3.800', '0.000')
    """
    if not math.isfinite(x) or x == 0:
        return "0.000" if x == 0 else str(x)
    places = max(3, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.2e}" if places > 8 else f"{x:.{places}f}"


def format_share(x: float) -> str:
    """A share such as a weight or a reduction: whole percent unless that reads as 0% or 100%."""
    for d in range(0, 7):
        text = f"{100 * x:.{d}f}%"
        if not ((0 < x < 1) and text in (f"{0:.{d}f}%", f"{100:.{d}f}%")):
            return text
    return f"{100 * x:.6f}%"


def capitalise(text: str) -> str:
    """``text`` with its first letter in upper case (and the rest as it was)."""
    return text[:1].upper() + text[1:]


def format_threshold(t: float) -> str:
    """A rule threshold as written by its author: 80%, 10%, 2.5%."""
    return f"{100 * t:g}%"


__all__ = ["format_estimate", "format_probability"]
