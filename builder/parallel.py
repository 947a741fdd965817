"""Large decks on every core: a list's chunks worked on in forked processes, results in order.

Reading ten thousand fact files or rendering eighty thousand cards is the same small job over
and over, so it splits cleanly. `streamed(fn, items, size)` gives `fn` of each chunk of items,
in order; where it can (Linux, several cores, several chunks) worker processes forked from this
one compute the chunks, and each result is taken here as soon as it is ready, while later ones
are still being computed. A worker inherits everything loaded so far (facts, compiled
templates) and sends back only its results, through a temporary file. If a worker fails for any
reason, its chunks are computed here, so an error is raised exactly as a single-process run
would raise it. `Ahead(fn)` computes one result in another process meanwhile.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
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


def streamed(fn: Callable[[Sequence[T]], R], items: Sequence[T], size: int, label: str) -> Generator[R, None, None]:
    """`fn(chunk)` for each consecutive chunk of `size` items, yielded in order (and reported
    as progress under `label`).

    With several cores and several chunks, worker processes forked here compute the chunks (of
    n workers, the i-th takes chunks i, i + n, i + 2n…) and send each result as soon as it is
    made, while this process takes the results in order and uses them (to write them out, say)
    as the rest are still being computed. A chunk whose worker failed, or could not start, is
    computed here, so an error is raised exactly as a single-process run would raise it.
    Elsewhere every chunk is computed here, when it is asked for. Close the iterator (or let it
    run out) to stop the workers."""
    results = streamed_pickled(fn, items, size, label)
    try:
        for result, _ in results:
            yield result
    finally:
        results.close()  # stopped early: so are the workers


def streamed_pickled(fn: Callable[[Sequence[T]], R], items: Sequence[T], size: int,
                     label: str) -> Generator[tuple[R, bytes | None], None, None]:
    """`streamed`, each result with the pickle it came in from its worker (None when it was
    computed here), for a caller that stores the results as well as using them."""
    chunks = [items[i:i + size] for i in range(0, len(items), max(size, 1))]
    return progress.in_steps(_streamed(fn, chunks), [len(c) for c in chunks], label)


def _streamed(fn: Callable[[Sequence[T]], R], chunks: list[Sequence[T]]) -> Iterator[tuple[R, bytes | None]]:
    count = min(cores(), len(chunks))
    if count < 2 or not hasattr(os, "fork"):
        for chunk in chunks:
            yield fn(chunk), None
        return
    workers: list[_Worker | None] = []
    try:
        for i in range(count):
            workers.append(_Worker.start(fn, chunks[i::count]))
        for k, chunk in enumerate(chunks):
            worker = workers[k % count]
            got = worker.next() if worker else None
            if got is None:
                if worker:
                    worker.stop()
                    workers[k % count] = None
                yield fn(chunk), None
            else:
                yield cast(R, got[0]), got[1]
    finally:
        for worker in workers:
            if worker:
                worker.stop()


class _Worker:
    """A forked process computing `fn` over its chunks. Each result goes into an unlinked
    temporary file (so the worker never waits for this process to read), and its length down
    a pipe once it is whole."""

    def __init__(self, pid: int, file: BinaryIO, pipe: int) -> None:
        self.pid, self.file, self.pipe, self.offset = pid, file, pipe, 0

    @classmethod
    def start(cls, fn: Callable[[Sequence[T]], R], chunks: list[Sequence[T]]) -> _Worker | None:
        """None when no worker can be started (no temporary file, pipe or process)."""
        try:
            file = tempfile.TemporaryFile()
        except OSError:
            return None
        try:
            read, write = os.pipe()
        except OSError:
            file.close()
            return None
        try:
            pid = os.fork()
        except OSError:
            file.close()
            os.close(read)
            os.close(write)
            return None
        if pid == 0:  # pragma: no cover - runs in the worker, which leaves by os._exit
            os.close(read)
            _work(fn, chunks, file, write)
        os.close(write)  # this process only reads: the pipe ends when the worker does
        return cls(pid, file, read)

    def next(self) -> tuple[Any, bytes] | None:
        """The next result and its pickle, or None if the worker ended without sending it."""
        try:
            head = _read(self.pipe, 8)
            if len(head) < 8:
                return None
            size = int.from_bytes(head, "little")
            data = b""
            while len(data) < size:
                more = os.pread(self.file.fileno(), size - len(data), self.offset + len(data))
                if not more:
                    return None
                data += more
            self.offset += size
            return pickle.loads(data), data
        except Exception:  # noqa: BLE001 - a result cut short; the chunk is computed again here
            return None

    def stop(self) -> None:
        _quietly(os.close, self.pipe)
        _stop(self.pid, self.file)


def _read(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            break
        data += more
    return data


def _work(fn: Callable[[Sequence[T]], R], chunks: list[Sequence[T]], file: BinaryIO,
          pipe: int) -> None:  # pragma: no cover - runs in the worker
    code = 1
    try:
        progress.silence()  # one progress bar, the parent's
        for chunk in chunks:
            data = pickle.dumps(fn(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            file.write(data)
            file.flush()
            os.write(pipe, len(data).to_bytes(8, "little"))
        code = 0
    except BaseException:  # noqa: BLE001 - this process redoes the chunk and reports the error
        pass
    finally:
        os._exit(code)


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
