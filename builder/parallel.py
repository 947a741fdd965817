"""Large decks on every core: a list's parts worked on in forked processes, results in order.

Reading ten thousand fact files or rendering eighty thousand cards is the same small job over
and over, so it splits cleanly. `in_parts(fn, items)` gives what `fn(items)` gives; where it
can (Linux, several cores, enough items) it runs `fn` on one part in this process and on each
other part in a child forked from it. A child inherits everything loaded so far (facts,
compiled templates) and sends back only its results, through a temporary file. If a child fails for any reason, its part
is done again here, so an error is raised exactly as a single-process run would raise it.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Generic, TypeVar, cast

from . import progress

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """How many processes a step may use: the cores this process may run on, at most 8;
    MUSCLE_DECK_JOBS sets it (1: everything in this process)."""
    wanted = os.environ.get("MUSCLE_DECK_JOBS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return min(int(wanted), 8)
    if not sys.platform.startswith("linux"):  # fork is Linux-safe; elsewhere stay in one process
        return 1
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except (AttributeError, OSError):  # pragma: no cover - every Linux Python has it
        return max(1, min(os.cpu_count() or 1, 8))


def in_parts(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], min_part: int) -> list[R]:
    """`fn(items)`, computed in parts of at least `min_part` items, one part per core."""
    parts = min(cores(), len(items) // max(min_part, 1))
    if parts < 2 or not hasattr(os, "fork"):
        return fn(items)
    bounds = [len(items) * i // parts for i in range(parts + 1)]
    children: list[tuple[tuple[int, BinaryIO] | None, Sequence[T]]] = []
    try:
        for i in range(1, parts):
            part = items[bounds[i]:bounds[i + 1]]
            children.append((_fork(fn, part), part))
        results = fn(items[:bounds[1]])
        while children:
            child, part = children[0]
            ok, got = _collect(*child) if child else (False, [])
            children.pop(0)
            # the child failed (or never started): do its part here, where any error surfaces as usual
            results.extend(got if ok else fn(part))
        return results
    finally:
        for child, _ in children:  # interrupted or failed: stop the rest
            if child:
                _stop(*child)


def _fork(fn: Callable[[Sequence[T]], R], part: Sequence[T]) -> tuple[int, BinaryIO] | None:
    """A child computing `fn(part)` into a file of its own: an unlinked temporary file, not a
    pipe, so that a child that finishes first is not held up until the parent reads. None when
    no child can be started (no temporary file, or no new process): the caller does the part."""
    try:
        file = tempfile.TemporaryFile()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        file.close()
        return None
    if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
        _child(fn, part, file)
    return pid, file


def _collect(pid: int, file: BinaryIO) -> tuple[bool, Any]:
    """(True, the child's result) once it has ended, or (False, None) if it failed."""
    _, status = os.waitpid(pid, 0)
    try:
        if status != 0:
            return False, None
        file.seek(0)
        return True, pickle.load(file)
    except Exception:  # noqa: BLE001 - a child that died mid-way; its exit status says so
        return False, None
    finally:
        file.close()


def _stop(pid: int, file: BinaryIO) -> None:
    file.close()
    _quietly(os.kill, pid, signal.SIGTERM)
    _quietly(os.waitpid, pid, 0)


def _quietly(call: Callable[..., object], *args: int) -> None:
    try:
        call(*args)
    except OSError:  # already closed, or it already ended
        pass


class Ahead(Generic[R]):
    """`fn()` started in a forked child now, its result collected later with `result()`;
    computed in this process instead where there is no second core (or the child fails).
    Use it as a context manager, so that a child whose result is not needed is stopped."""

    def __init__(self, fn: Callable[[], R]) -> None:
        self._fn = fn
        self._child: tuple[int, BinaryIO] | None = None
        if cores() > 1 and hasattr(os, "fork"):
            self._child = _fork(lambda _: fn(), ())

    def result(self) -> R:
        if self._child is None:
            return self._fn()
        pid, file = self._child
        self._child = None
        ok, got = _collect(pid, file)
        return cast(R, got) if ok else self._fn()

    def __enter__(self) -> Ahead[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child is not None:
            pid, file = self._child
            self._child = None
            _stop(pid, file)


def _child(fn: Callable[[Sequence[T]], R], part: Sequence[T],
           file: BinaryIO) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        progress.silence()  # one progress bar, the parent's
        result = fn(part)
        pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
        file.flush()
        code = 0
    except BaseException:  # noqa: BLE001 - the parent redoes the part and reports the error
        pass
    finally:
        os._exit(code)
