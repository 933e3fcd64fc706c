"""``python -m dcf.synthetic --date D --out DIR [--rows N] [--bad-day]``: write a synthetic BCFINSG landing file.

The generator is :mod:`dcf.demo.synthetic_landing`; this module is its command line.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from dcf.demo.synthetic_landing import generate_landing_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic BCFINSG landing file.")
    parser.add_argument("--date", required=True, type=date.fromisoformat, help="process date YYYY-MM-DD")
    parser.add_argument("--out", required=True, type=Path, help="directory for the CSV file")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--bad-day", action="store_true", help="mostly bad records (avg DQ score < 70)")
    parser.add_argument("--seed", type=int, default=None, help="default: derived from the date")
    args = parser.parse_args(argv)
    path = generate_landing_file(args.date, args.out, rows=args.rows, seed=args.seed, bad_day=args.bad_day)
    print(path)


if __name__ == "__main__":
    main()
