"""Progress bars: tqdm when installed, a plain stderr counter otherwise.

tqdm is never a hard dependency.
"""
from __future__ import annotations

import sys
import time

__all__ = ["progress_bar"]


class _PlainBar:
    """Minimal stand-in for tqdm: prints a line with count, rate and ETA every few seconds."""

    def __init__(self, total=None, desc="", disable=False, **_):
        self.total, self.desc, self.disable = total, desc, disable
        self.n = 0
        self._start = self._last = time.monotonic()

    def update(self, k=1):
        self.n += k
        now = time.monotonic()
        if not self.disable and (now - self._last > 2.0 or self.n == self.total):
            self._last = now
            rate = self.n / max(now - self._start, 1e-9)
            eta = ""
            if self.total:
                eta = f", ETA {max(self.total - self.n, 0) / max(rate, 1e-9):.0f}s"
            total = f"/{self.total}" if self.total else ""
            print(f"{self.desc}: {self.n}{total} ({rate:.1f}/s{eta})", file=sys.stderr)

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_bar(total=None, desc="", enabled=True, **kwargs):
    """A context-manager progress bar with ``update(k)``; disabled when ``enabled`` is False."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is an optional extra
        return _PlainBar(total=total, desc=desc, disable=not enabled)
    return tqdm(total=total, desc=desc, disable=not enabled, dynamic_ncols=True, **kwargs)
