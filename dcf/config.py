"""``python -m dcf.config [NAME_OR_PATH ...]``: validate stream YAMLs (all of them by default).

The stream definition itself is :mod:`dcf.stream.definition`; this module is its command line.
"""

from __future__ import annotations

import sys

from dcf.errors import ConfigError
from dcf.stream.definition import list_stream_files, load_all_streams, load_stream
from dcf.stream.yaml_source import shown_path


def main(argv: list[str] | None = None) -> int:
    """``python -m dcf.config [NAME_OR_PATH ...]``: validate stream YAMLs (all of them by default); every
    error of every file is listed, one line each, not only the first."""
    args = sys.argv[1:] if argv is None else argv
    errors = 0
    for arg in args or [str(path) for path in list_stream_files()]:
        try:
            loaded = load_stream(arg)
        except ConfigError as error:
            errors += 1
            print(f"error: {error}", file=sys.stderr)
            continue
        print(f"ok: {shown_path(loaded.path)}: stream {loaded.config.stream.id} {loaded.name}")
    if not args and not errors:
        try:  # names and ids unique across the folder
            load_all_streams()
        except ConfigError as error:
            errors += 1
            print(f"error: {error}", file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
