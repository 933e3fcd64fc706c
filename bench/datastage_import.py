"""What importing a DataStage export costs: a generated multi-MB DSX, against reading its lines, in one run.

    uv run python -m bench.datastage_import                       # 200 sequences, 200 parallel jobs, 3 rounds
    uv run python -m bench.datastage_import --sequences 1000 --rounds 1

The export holds sequences of 12 activities each (job activities, a sequencer, a condition, a command, user
variables, a loop) and parallel jobs carrying generated OSH, as real DSX files do. Rounds alternate:

* baseline — every line of the file read and split (what any reader pays);
* import   — :func:`dcf.datastage.importer.import_exports`: read, map, write the YAMLs and the report.

Medians are printed with the ratio, the time per MB and per sequence. Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dcf.datastage.importer import import_exports
from dcf.datastage.mapping import JobMap


def _sequence(number: int) -> str:
    links = [("V0S0P1", "V0S1|V0S1P0", "2", ""), ("V0S0P2", "V0S2|V0S2P0", "2", ""),
             ("V0S1P1", "V0S3|V0S3P0", "2", ""), ("V0S2P1", "V0S3|V0S3P1", "0", ""),
             ("V0S3P2", "V0S4|V0S4P0", "0", ""), ("V0S4P1", "V0S5|V0S5P0", "2", ""),
             ("V0S5P1", "V0S6|V0S6P0", "6", 'UV.flag = \\"Y\\" And Cmd.$ReturnValue = 0'),
             ("V0S5P2", "V0S7|V0S7P0", "1", ""), ("V0S6P1", "V0S8|V0S8P0", "0", ""),
             ("V0S8P1", "V0S9|V0S9P0", "0", ""), ("V0S9P1", "V0S10|V0S10P0", "2", ""),
             ("V0S10P1", "V0S8|V0S8P2", "0", ""), ("V0S10P2", "V0S11|V0S11P0", "0", "")]
    activities = [("V0S0", "CJSUserVarsActivity", "UV", ""), ("V0S1", "CJSJobActivity", "JaA", f"Px{number}"),
                  ("V0S2", "CJSJobActivity", "JaB", f"Px{number + 1}"), ("V0S3", "CJSSequencer", "Seq", ""),
                  ("V0S4", "CJSExecCmdActivity", "Cmd", ""), ("V0S5", "CJSCondition", "Cond", ""),
                  ("V0S6", "CJSJobActivity", "JaC", f"Px{number}"), ("V0S7", "CJSTerminatorActivity", "Stop", ""),
                  ("V0S8", "CJSStartLoopActivity", "LoopS", ""), ("V0S9", "CJSExecCmdActivity", "Each", ""),
                  ("V0S10", "CJSEndLoopActivity", "LoopE", ""), ("V0S11", "CJSExecCmdActivity", "Done", "")]
    records = [f'BEGIN DSJOB\n   Identifier "Sq{number}"\n   BEGIN DSRECORD\n      Identifier "ROOT"\n'
               f'      OLEType "CJobDefn"\n      Name "Sq{number}"\n      JobType "2"\n   END DSRECORD\n']
    for identifier, ole, name, job in activities:
        pins = "|".join(p for p, *_ in links if p.startswith(identifier + "P"))
        extra = f'      Jobname "{job}"\n' if job else ""
        extra += '      Path "echo"\n      Parameters "#LoopS.$Counter#"\n' if name == "Each" else ""
        extra += '      Path "echo"\n      Parameters "#UV.flag#"\n' if name in ("Cmd", "Done") else ""
        extra += '      DelimitedLoopValues "a,b,c"\n' if name == "LoopS" else ""
        sub = '      BEGIN DSSUBRECORD\n         Name "flag"\n         Expression "\\"Y\\""\n      END DSSUBRECORD\n' \
            if name == "UV" else ""
        records.append(f'   BEGIN DSRECORD\n      Identifier "{identifier}"\n      OLEType "{ole}"\n'
                       f'      Name "{name}"\n      OutputPins "{pins}"\n{extra}{sub}   END DSRECORD\n')
    for pin, partner, code, expression in links:
        records.append(f'   BEGIN DSRECORD\n      Identifier "{pin}"\n      OLEType "CJSActivityOutput"\n'
                       f'      Partner "{partner}"\n      ConditionType "{code}"\n      Expression "{expression}"\n'
                       "   END DSRECORD\n")
    return "".join(records) + "END DSJOB\n"


def write_export(path: Path, sequences: int, parallel_jobs: int) -> None:
    osh = "## Operator\ncopy\n## General options\n[ident('x')]\n" * 300
    with path.open("w") as out:
        out.write('BEGIN HEADER\n   CharacterSet "CP1252"\nEND HEADER\n')
        for number in range(sequences):
            out.write(_sequence(number))
        for number in range(parallel_jobs):
            out.write(f'BEGIN DSJOB\n   Identifier "Px{number}"\n   BEGIN DSRECORD\n      Identifier "ROOT"\n'
                      f'      OLEType "CJobDefn"\n      Name "Px{number}"\n      JobType "3"\n'
                      f"      OrchestrateCode =+=+=+=\n{osh}=+=+=+=\n   END DSRECORD\nEND DSJOB\n")


def _baseline(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line.split()
    return time.perf_counter() - started


def _import(path: Path, out: Path) -> float:
    started = time.perf_counter()
    import_exports([path], out=out, job_map=JobMap({"Px*": "tag:loaded"}))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datastage_import", description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--parallel-jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "export.dsx"
        write_export(export, args.sequences, args.parallel_jobs)
        megabytes = export.stat().st_size / 1e6
        baseline, imported = [], []
        for round_number in range(args.rounds):
            baseline.append(_baseline(export))
            imported.append(_import(export, Path(folder) / f"out{round_number}"))
    base, ours = statistics.median(baseline), statistics.median(imported)
    print(f"export: {megabytes:.1f} MB, {args.sequences} sequences, {args.parallel_jobs} parallel jobs")
    print(f"baseline (read and split every line): {base:.3f} s")
    print(f"import (read, map, write YAMLs + report): {ours:.3f} s = {ours / base:.1f}x baseline; "
          f"{ours / megabytes * 1000:.1f} ms per MB, {ours / args.sequences * 1000:.2f} ms per sequence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
