"""Side-by-side timing helpers shared by the benchmark scripts."""
from __future__ import annotations

import time


def best_time(func, *, repeat: int = 5, number: int = 1) -> float:
    """Best-of-``repeat`` wall time of ``number`` calls, per call (robust on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """Print a plain-text table with right-aligned columns."""
    cells = [header] + [[c if isinstance(c, str) else f"{c:.4g}" for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(cells[0], widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
