"""Progress for long steps: the library marks its loops, the CLI decides whether to show bars.

Nothing is shown unless a reporter is installed (the CLI installs click's progress bar when
standard error is a terminal), and then only for loops long enough to take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

Reporter = Callable[[Sequence[object], str], Iterable[object]]

_state: dict[str, object] = {"reporter": None, "minimum": 500}


class Steps:
    """A long loop's progress: `advance` as its items are done, then `close`. Reported as a loop
    over `total` items by the installed reporter, if there are at least its minimum."""

    def __init__(self, total: int, label: str) -> None:
        reporter = _state["reporter"]
        self._ticks: Iterator[object] | None = None
        if reporter is not None and total >= int(_state["minimum"]):  # type: ignore[call-overload]
            self._ticks = iter(reporter(range(total), label))  # type: ignore[operator]

    def advance(self, count: int) -> None:
        if self._ticks is not None:
            for _ in range(count):
                next(self._ticks, None)

    def close(self, finished: bool = True) -> None:
        """The loop's end: the report runs to its end if the loop `finished`, else stops."""
        ticks, self._ticks = self._ticks, None
        if ticks is not None:
            if finished:
                for _ in ticks:
                    pass
            else:
                getattr(ticks, "close", lambda: None)()


@contextmanager
def showing(reporter: Reporter, minimum: int = 500) -> Iterator[None]:
    """Report the loops of at least `minimum` items while the block runs."""
    before = dict(_state)
    _state.update(reporter=reporter, minimum=minimum)
    try:
        yield
    finally:
        _state.update(before)


def silence() -> None:
    """Show nothing from here on (a worker process leaves progress to its parent)."""
    _state.update(reporter=None)
