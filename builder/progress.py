"""Progress for long steps: the library marks its loops, the CLI decides whether to show bars.

Nothing is shown unless a reporter is installed (the CLI installs click's progress bar when
standard error is a terminal), and then only for loops long enough to take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
Reporter = Callable[[Sequence[object], str], Iterable[object]]

_state: dict[str, object] = {"reporter": None, "minimum": 500}


def track(items: Sequence[T], label: str) -> Iterable[T]:
    """`items`, reported as they are consumed when a reporter is installed and there are many."""
    reporter = _state["reporter"]
    if reporter is None or len(items) < int(_state["minimum"]):  # type: ignore[call-overload]
        return items
    return reporter(items, label)  # type: ignore[no-any-return, operator]


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
