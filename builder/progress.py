"""Progress for long steps: the library marks its loops, the CLI decides whether to show bars.

Nothing is shown unless a reporter is installed (the CLI installs click's progress bar when
standard error is a terminal), and then only for loops long enough to take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

P = TypeVar("P")
Reporter = Callable[[Sequence[object], str], Iterable[object]]

_state: dict[str, object] = {"reporter": None, "minimum": 500}


def in_steps(parts: Iterable[P], sizes: Sequence[int], label: str) -> Generator[P, None, None]:
    """`parts` as they are consumed, each the work of `sizes[i]` items, reported as a loop over
    all those items: by the installed reporter, if there are at least its minimum."""
    reporter = _state["reporter"]
    total = sum(sizes)
    if reporter is None or total < int(_state["minimum"]):  # type: ignore[call-overload]
        yield from parts
        return
    ticks = iter(reporter(range(total), label))  # type: ignore[operator]
    try:
        for part, size in zip(parts, sizes, strict=True):
            for _ in range(size):
                next(ticks, None)
            yield part
        for _ in ticks:  # the bar's end
            pass
    finally:
        getattr(parts, "close", lambda: None)()  # stopped early: so is the work behind `parts`


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
