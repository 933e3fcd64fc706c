"""``python -m dcf.config [NAME_OR_PATH ...]``: validate stream YAMLs (all of them by default).

The stream definition itself is :mod:`dcf.stream.definition`; this module is its command line.
"""

from __future__ import annotations

import sys

from dcf.errors import ConfigError
from dcf.stream.definition import load_all_streams, load_stream
from dcf.stream.yaml_source import shown_path


def main(argv: list[str] | None = None) -> int:
    """``python -m dcf.config [NAME_OR_PATH ...]``: validate stream YAMLs (all of them by default)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        streams = [load_stream(arg) for arg in args] if args else load_all_streams()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for loaded in streams:
        print(f"ok: {shown_path(loaded.path)}: stream {loaded.config.stream.id} {loaded.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
