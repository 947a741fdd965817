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
import select
import signal
import sys
import tempfile
from collections.abc import Callable, Generator, Sequence
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


def streamed(fn: Callable[[Sequence[T]], R], items: Sequence[T], size: int,
             label: str) -> Generator[tuple[R, bytes | None], None, None]:
    """`fn(chunk)` for each consecutive chunk of `size` items, yielded in order (and reported
    as progress under `label`), each with the pickle it came in from its worker, or None when
    it was computed here (for a caller that stores the results as well as using them).

    With several cores and several chunks, worker processes forked here at once compute the
    chunks, each taking the next chunk left as soon as it is done with one (so that all end
    together), and send each result as soon as it is made, while this process takes the results
    in order and uses them (to write them out, say) as the rest are still being computed. A
    chunk whose worker failed, or could not start, is computed here, so an error is raised
    exactly as a single-process run would raise it. Elsewhere every chunk is computed here,
    when it is asked for. Close the iterator (or let it run out) to stop the workers."""
    size = max(size, 1, -(-len(items) // _MAX_CHUNKS))
    results = _streamed(fn, [items[i:i + size] for i in range(0, len(items), size)], label)
    next(results)  # started: the workers are at work, and closing the results stops them
    return cast(Generator[tuple[R, bytes | None], None, None], results)


# Chunk numbers wait in a pipe for the workers to take them, four bytes each: all of them fit
# in a pipe's 64 kB, so this process writes them all at once, without waiting.
_MAX_CHUNKS = 4096
_CLAIM = (1 << 64) - 1  # a worker's message "I took this chunk" (else: "here it is, this long")


def _streamed(fn: Callable[[Sequence[T]], R], chunks: list[Sequence[T]],
              label: str) -> Generator[tuple[R, bytes | None] | None, None, None]:
    count = min(cores(), len(chunks))
    tasks = _tasks(len(chunks)) if count > 1 and hasattr(os, "fork") else None
    steps = progress.Steps(sum(len(c) for c in chunks), label)
    workers: list[_Worker] = []
    try:
        if tasks is not None:
            workers = [w for w in (_Worker.start(fn, chunks, tasks) for _ in range(count)) if w]
        yield None  # (started)
        taken: dict[int, _Worker] = {}  # chunk → the worker that took it
        ready: dict[int, tuple[_Worker, int, int]] = {}  # chunk → (worker, offset, size) of its result
        for k, chunk in enumerate(chunks):
            while k not in ready and any(w.alive for w in workers) and (k not in taken or taken[k].alive):
                _hear(workers, taken, ready)
            got = ready.pop(k, None)
            result: tuple[Any, bytes | None] | None = got[0].result(got[1], got[2]) if got else None
            if result is None:  # no worker, or its worker failed: done here
                result = fn(chunk), None
            steps.advance(len(chunk))
            yield result
        steps.close()
    finally:
        steps.close(finished=False)  # (unless it has finished)
        if tasks is not None:
            os.close(tasks)
        for worker in workers:
            worker.stop()


def _tasks(count: int) -> int | None:
    """The read end of a pipe holding the chunk numbers 0 … count-1; None if there is none."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        os.write(write, b"".join(k.to_bytes(4, "little") for k in range(count)))
    except OSError:
        os.close(read)
        return None
    finally:
        os.close(write)  # once the numbers run out, a worker reading the pipe finds its end
    return read


def _hear(workers: list[_Worker], taken: dict[int, _Worker],
          ready: dict[int, tuple[_Worker, int, int]]) -> None:
    """Wait for the next message from any worker still alive, and note it."""
    alive = {w.pipe: w for w in workers if w.alive}
    readable, _, _ = select.select(list(alive), [], [])
    for fd in readable:
        worker = alive[fd]
        message = _read(fd, 12)
        if len(message) < 12:  # the worker has ended
            worker.alive = False
            continue
        k, size = int.from_bytes(message[:4], "little"), int.from_bytes(message[4:], "little")
        if size == _CLAIM:
            taken[k] = worker
        else:
            ready[k] = (worker, worker.offset, size)
            worker.offset += size


class _Worker:
    """A forked process computing `fn` over the chunks it takes from the tasks pipe. Each
    result goes into the worker's own unlinked temporary file (so that it never waits for this
    process to read), and a message down its own pipe says when it took a chunk, and how long
    the chunk's result is once it is whole."""

    def __init__(self, pid: int, file: BinaryIO, pipe: int) -> None:
        self.pid, self.file, self.pipe, self.offset, self.alive = pid, file, pipe, 0, True

    @classmethod
    def start(cls, fn: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]], tasks: int) -> _Worker | None:
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
            try:
                os.close(read)
                _work(fn, chunks, tasks, file, write)
            finally:
                os._exit(1)  # whatever happens, the worker never goes on with this process's work
        os.close(write)  # this process only reads: the pipe ends when the worker does
        return cls(pid, file, read)

    def result(self, offset: int, size: int) -> tuple[Any, bytes] | None:
        """A result this worker sent, and its pickle; None if it cannot be read back."""
        try:
            data = b""
            while len(data) < size:
                more = os.pread(self.file.fileno(), size - len(data), offset + len(data))
                if not more:
                    return None
                data += more
            return pickle.loads(data), data
        except Exception:  # noqa: BLE001 - a result cut short; the chunk is computed again here
            return None

    def stop(self) -> None:
        self.alive = False
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


def _work(fn: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]], tasks: int, file: BinaryIO,
          pipe: int) -> None:  # pragma: no cover - runs in the worker
    code = 1
    try:
        progress.silence()  # one progress bar, the parent's
        while len(task := _read(tasks, 4)) == 4:  # the next chunk nobody has taken; none left: done
            k = int.from_bytes(task, "little")
            os.write(pipe, task + _CLAIM.to_bytes(8, "little"))
            data = pickle.dumps(fn(chunks[k]), protocol=pickle.HIGHEST_PROTOCOL)
            file.write(data)
            file.flush()
            os.write(pipe, task + len(data).to_bytes(8, "little"))
        code = 0
    except BaseException:  # noqa: BLE001 - this process redoes the chunk and reports the error
        pass
    finally:
        os._exit(code)


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
    """`fn()` started in a forked worker now, its result collected later with `result()`;
    computed in this process instead where there is no second core (or the worker fails).
    Use it as a context manager, so that a worker whose result is not needed is stopped."""

    def __init__(self, fn: Callable[[], R]) -> None:
        self._fn = fn
        self._worker: _Worker | None = None
        if cores() > 1 and hasattr(os, "fork"):
            tasks = _tasks(1)  # one chunk, of nothing
            if tasks is not None:
                nothing: list[Sequence[object]] = [()]
                self._worker = _Worker.start(lambda _: fn(), nothing, tasks)
                os.close(tasks)

    def result(self) -> R:
        worker, self._worker = self._worker, None
        if worker is None:
            return self._fn()
        try:
            taken: dict[int, _Worker] = {}
            ready: dict[int, tuple[_Worker, int, int]] = {}
            while 0 not in ready and worker.alive:
                _hear([worker], taken, ready)
            got = worker.result(*ready[0][1:]) if 0 in ready else None
        finally:
            worker.stop()
        return cast(R, got[0]) if got else self._fn()

    def __enter__(self) -> Ahead[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
