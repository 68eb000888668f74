"""The ``netevidence`` command: argument parsing and exit codes only.

Exit codes: 0 success; 1 invalid input (the problems are printed, never a traceback); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .output import OutputError

if TYPE_CHECKING:  # the record machinery (pydantic, pandas) is imported by the commands that need it
    from .records import ValidationReport


class CliError(Exception):
    """A user-facing failure: printed as one message, exit code 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netevidence",
        description="Curated evidence on liver-directed and nuclear-medicine therapy for NEN liver metastases.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check evidence records; exit 1 if any is invalid")
    p.add_argument("path", nargs="?", default="evidence", help="evidence directory or one record file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_validate)

    p = sub.add_parser("tables", help="write the tidy evidence tables as CSV")
    p.add_argument("path", nargs="?", default="evidence", help="evidence directory or one record file")
    p.add_argument("--out", required=True, type=Path, help="output directory (replaced atomically)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_tables)

    p = sub.add_parser("reconstruct", help="reconstruct patient-level data from a digitised Kaplan-Meier curve")
    p.add_argument("curve", type=Path, help="CSV with columns time, survival (fraction or percent)")
    p.add_argument("--n", required=True, type=_positive_int, help="number of patients at time 0")
    p.add_argument("--at-risk", type=Path, help="CSV with columns time, n_at_risk")
    p.add_argument("--events", type=_positive_int, help="total number of events, when published")
    p.add_argument("--out", required=True, type=Path, help="where to write the IPD (CSV: time, event)")
    p.set_defaults(run=_reconstruct)

    p = sub.add_parser("report", help="build the HTML evidence report")
    p.add_argument("--evidence", default="evidence", help="evidence directory (default: evidence)")
    p.add_argument("--analyses", default="analyses", help="analysis specifications (default: analyses)")
    p.add_argument("--out", default=Path("reports/site"), type=Path, help="output directory (default: reports/site)")
    p.add_argument("--cache", type=Path, default=None,
                   help="cache of unchanged analyses (default: .cache beside the output directory)")
    p.add_argument("--no-cache", action="store_true", help="recompute every analysis")
    p.add_argument("--previous", type=Path, default=None,
                   help="an earlier site (or its manifest.json) to compare with on the 'What changed' page "
                        "(default: the site being replaced)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_report)
    _add_simulate(sub)
    return parser


def _print_problems(report: "ValidationReport", stream) -> None:
    for problem in sorted(report.problems, key=lambda p: (p.severity != "error", p.file, p.line or 0)):
        print(problem.format(), file=stream)


def _summary(report: "ValidationReport") -> str:
    return (f"{report.root}: {len(report.records)} record(s), {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s)")


PROGRESS_FROM = 50  # record files; smaller evidence bases load too fast for a progress bar to help


def _progress_bar(quiet: bool):
    """A wrapper that shows a progress bar on a terminal for large evidence directories, else nothing."""
    if quiet or not sys.stderr.isatty():
        return None

    def wrap(items, total):
        if total < PROGRESS_FROM:
            return items
        from tqdm import tqdm

        return tqdm(items, total=total, desc="records", unit="file", file=sys.stderr, leave=False,
                    dynamic_ncols=True)

    return wrap


def _validate(args: argparse.Namespace) -> int:
    report = _checked(args.path, args.quiet)
    if args.format == "json":
        payload = {
            "root": report.root,
            "ok": report.ok,
            "records": [r.record.id for r in report.records],
            "files": list(report.files),
            "errors": [p.to_dict() for p in report.errors],
            "warnings": [p.to_dict() for p in report.warnings],
        }
        print(json.dumps(payload, indent=2))
    else:
        _print_problems(report, sys.stdout)
        print(_summary(report))
    return 0 if report.ok else 1


def _checked(path: str, quiet: bool = True, cache: Path | None = None) -> "ValidationReport":
    from .records import validate_evidence
    from .records.cache import RecordCache

    try:
        return validate_evidence(path, progress=_progress_bar(quiet),
                                 cache=RecordCache(cache) if cache is not None else None)
    except FileNotFoundError as exc:
        raise CliError(f"{exc}. Fix: give the evidence directory or a record file.") from None


def _load(path: str, quiet: bool = True, cache: Path | None = None):
    report = _checked(path, quiet, cache)
    if not report.ok:
        _print_problems(report, sys.stderr)
        raise CliError(_summary(report) + ". Fix the errors above first (netevidence validate).")
    from .evidence import evidence_from_report

    return evidence_from_report(report)


def _tables(args: argparse.Namespace) -> int:
    from .report import write_tables

    written = write_tables(_load(args.path, args.quiet), args.out)
    print(f"wrote {len(written)} tables to {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    analyses = Path(args.analyses)
    if not analyses.is_dir():
        raise CliError(f"no analyses directory {analyses}. Fix: give --analyses DIR with the specifications.")
    cache = None if args.no_cache else (args.cache if args.cache is not None else args.out.parent / ".cache")
    records_cache = state = None
    if cache is not None:
        import os

        from .buildstate import BuildState, site_inputs
        from .output import refuse_inputs

        refuse_inputs(cache, [args.evidence, analyses, args.out], what="cache directory")
        records_cache = Path(cache) / "records"
        # hashed before anything is read for the build, so that a file changed meanwhile means a rebuild next time
        state = BuildState(cache, args.out, site_inputs(args.evidence, analyses, args.previous,
                                                        os.environ.get("SOURCE_DATE_EPOCH")))
        if state.is_current():
            print(f"{args.out / 'index.html'} is up to date: its inputs and files are unchanged since it was built")
            return 0
        state.forget()
    from .report import ReportError, write_site
    from .report.pages import BuildLog

    log = BuildLog()
    try:
        index = write_site(_load(args.evidence, args.quiet, records_cache), args.out, analyses=analyses, cache_dir=cache,
                           progress=not args.quiet, previous=args.previous, log=log)
    except ReportError as exc:
        raise CliError(f"{exc}\nThe previous site in {args.out} is left as it was.") from None
    if state is not None:
        state.remember()
    print(f"wrote {index}")
    if not args.quiet:
        print(log.summary())
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _reconstruct(args: argparse.Namespace) -> int:
    from .output import atomic_file
    from .survival import format_diagnostics, reconstruct_files

    try:
        inputs = [args.curve] + ([args.at_risk] if args.at_risk is not None else [])
        with atomic_file(args.out, protect=inputs) as staging:
            result = reconstruct_files(args.curve, args.n, at_risk_path=args.at_risk,
                                       total_events=args.events, out=staging)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(format_diagnostics(result))
    print(f"wrote {len(result.ipd)} patients to {args.out}")
    return 0


def _add_simulate(sub) -> None:
    """The ``simulate`` subcommand: a simulation study from a YAML specification, on Dask."""

    def run(args: argparse.Namespace) -> int:
        from .output import atomic_file
        from .simulate import load_spec, simulate

        try:
            spec = load_spec(args.spec)
            result = simulate(spec, scheduler=args.scheduler, progress=not args.quiet)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            if args.scheduler is None or exc.filename is not None:
                raise  # a file error: reported by main()
            raise CliError(f"could not reach the Dask scheduler at {args.scheduler}: {exc}. Fix: start it "
                           "(dask scheduler / dask worker) or leave out --scheduler to run locally.") from None
        frame = result.to_frame()
        if args.out is None:
            print(frame.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        else:
            with atomic_file(args.out) as staging:
                frame.to_csv(staging, index=False, float_format="%.17g")
            print(f"wrote {len(frame)} rows ({len(spec.scenarios)} scenarios x {len(spec.methods)} methods) to {args.out}")
        return 0

    p = sub.add_parser("simulate", help="run a simulation study of estimators and CI methods (on Dask)")
    p.add_argument("spec", type=Path, help="YAML specification: scenarios, methods, replicates, seed")
    p.add_argument("--scheduler", default=None,
                   help="dask.distributed scheduler address, e.g. tcp://host:8786 (default: local threads)")
    p.add_argument("--out", type=Path, default=None, help="CSV of the results (default: print a table)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as exc:
        from .records import EvidenceError
        from .records.yamlsource import YamlError

        if isinstance(exc, (CliError, EvidenceError, YamlError, OutputError)):
            print(f"netevidence: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, OSError):
            print(f"netevidence: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
