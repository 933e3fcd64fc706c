"""Errors a person can act on: one line that says what is wrong and where."""

from __future__ import annotations


class DcfError(Exception):
    """Base class of every error DCF Flows raises on purpose (as opposed to a bug)."""


class ConfigError(DcfError, ValueError):
    """A stream YAML (or another config file) is missing, unreadable or invalid.

    Also a ``ValueError``: raised inside a pydantic validator (an identifier check, say), pydantic reports it
    with the field's path, and the stream loader adds the YAML line.
    """


class RefusedError(DcfError):
    """A run was refused before it changed anything (bad parameter, stream not runnable, ...)."""


class WarehouseBusyError(DcfError):
    """The local DuckDB file is held by another process for longer than we are willing to wait."""


class IllegalTransitionError(DcfError):
    """A state machine (process instance, profile run) was asked to make a move it does not allow."""
