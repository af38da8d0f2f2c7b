"""Disclosure control (SPEC §5): no published number may single anyone out.

- Every published count and denominator needs at least ``k`` respondents; smaller
  cells say "fewer than k" and carry no number at all (zero may be shown).
- A share is suppressed when its numerator or its denominator is 1 to k−1.
- Complementary suppression: when cells of a breakdown are hidden while its total
  is shown, more cells are hidden (smallest first) until the hidden cells together
  hold none or at least k people, so subtraction reveals no small group.
"""

from __future__ import annotations

from collections.abc import Mapping


def small(count: int, k: int) -> bool:
    """1 to k−1 people: too few to publish."""
    return 0 < count < k


def suppressed_cells(
    cells: Mapping[str, int], k: int, never_shown: frozenset[str] = frozenset()
) -> set[str]:
    """Which cells of a one-way breakdown (whose total is published) to hide.
    ``never_shown`` cells (e.g. "did not answer") are hidden anyway; they count
    towards what subtraction can recover, so they protect the small cells too."""
    hidden = {name for name, count in cells.items() if small(count, k)} | set(never_shown)
    while hidden - set(never_shown) and small(sum(cells[name] for name in hidden), k):
        shown = [name for name in cells if name not in hidden]
        if not shown:
            break
        # The next smallest cell, zeros last (hiding a zero adds nothing).
        nonzero = [name for name in shown if cells[name] > 0]
        candidates = nonzero or shown
        hidden.add(min(candidates, key=lambda name: (cells[name], name)))
    return hidden - set(never_shown)


def total_publishable(cells: Mapping[str, int], k: int) -> bool:
    """A breakdown's total is published only when it is not itself small."""
    return not small(sum(cells.values()), k)
