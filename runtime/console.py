"""A console that may go away while a run goes on: ``make run | head`` closes its end of the pipe early.

    from runtime import console
    console.survive_a_closed_pipe()      # first thing in a CLI, before Prefect sets up its log handlers

Python ignores SIGPIPE, so once the reader is gone every write raises BrokenPipeError: the first ``print``
after ``head`` exits would end the CLI with a traceback, before or after its flow ran, and Prefect's log
handlers would report each lost line. A load must not depend on who reads its console: here standard
output and standard error are wrapped so that the first broken-pipe write points the stream at /dev/null
and the run goes on to its end, recorded and reported as usual (the warehouse and the Prefect UI have it all).
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class _SurvivesAClosedPipe:
    """A text stream that turns into /dev/null when its reader goes away (see the module docstring)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())  # the buffered text now drains into /dev/null
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer...
        return getattr(self._stream, name)


def survive_a_closed_pipe() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _SurvivesAClosedPipe):
            setattr(sys, name, _SurvivesAClosedPipe(stream))
