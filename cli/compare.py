"""``restoration-audit compare BASELINE.json CANDIDATE.json``: a regression gate between two
audit reports (paired differences with paired-bootstrap intervals, docs/theory.md 3.13)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from api_schemas.comparison import COMPARED_METRICS, Comparison, RegressionRule
from api_schemas.exit_codes import EXIT_OK, EXIT_REGRESSION
from api_schemas.problems import error_location, error_message
from api_schemas.report import AuditReport
from cli.errors import UsageError, exit_code, refused
from reporting.comparison import IncomparableReportsError, compare_reports

_HELP = "compare a candidate report with a baseline report (a regression gate)"
_DESCRIPTION = (
    "Match the pairs of two audit reports by id, print per-restorer paired "
    "differences of PSNR, SSIM, uncertainty, perception and invented detail with "
    "paired-bootstrap intervals, the verdicts that changed, and whether the candidate "
    "regresses under the stated rule."
)


class _InputError(Exception):
    """A report file that cannot be read as a report of this version."""


def add_compare_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compare", help=_HELP, description=_DESCRIPTION)
    p.add_argument("baseline", type=Path, metavar="BASELINE.json", help="the reference report")
    p.add_argument("candidate", type=Path, metavar="CANDIDATE.json", help="the report to judge")
    p.add_argument(
        "--fail-on-regression",
        action="store_true",
        help=f"exit {EXIT_REGRESSION} when the candidate regresses (for CI)",
    )
    p.add_argument(
        "--margin",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="how much worse a metric may get before it regresses, e.g. psnr=0.05 (dB); "
        f"metrics: {', '.join(COMPARED_METRICS)}; default 0",
    )
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--resamples", type=int, default=2000, metavar="R", help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument(
        "--ignore-risk-increase",
        action="store_true",
        help="a restorer's risk level rising is not by itself a regression",
    )
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the JSON comparison")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the comparison as an HTML page")
    p.add_argument("--json", action="store_true", help="print the JSON comparison on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")


def _rule(args: argparse.Namespace) -> RegressionRule:
    fields: dict[str, object] = {
        "level": args.level,
        "resamples": args.resamples,
        "seed": args.seed,
        "fail_on_risk_increase": not args.ignore_risk_increase,
    }
    for item in args.margin:
        metric, sep, value = item.partition("=")
        if not sep or metric not in COMPARED_METRICS:
            raise UsageError(
                f"--margin: expected METRIC=VALUE with METRIC one of "
                f"{', '.join(COMPARED_METRICS)}, got {item!r}"
            )
        try:
            fields[f"{metric}_margin"] = float(value)
        except ValueError:
            raise UsageError(
                f"--margin: expected a number after {metric}=, got {value!r}"
            ) from None
    try:
        return RegressionRule.model_validate(fields)
    except ValidationError as error:
        raise refused(error, prefix="invalid", default="") from None


def _read(path: Path) -> AuditReport:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise _InputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return AuditReport.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = error_location(first["loc"]) or "document"
        raise _InputError(
            f"{path} is not an audit report of this version ({where}: {error_message(first)})"
        ) from None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def summary_table(comparison: Comparison) -> str:
    """The comparison as the plain-text table the command prints."""
    lines = [f"baseline {comparison.baseline}  ->  candidate {comparison.candidate}"]
    for group in comparison.groups:
        name = group.candidate_group
        if group.baseline_group != group.candidate_group:
            name = f"{group.baseline_group} -> {group.candidate_group}"
        lines.append("")
        lines.append(
            f"{name}: {group.pairs} pairs, risk {group.baseline_risk} -> {group.candidate_risk}, "
            f"{len(group.verdict_changes)} pair verdicts changed"
        )
        lines.append(
            f"  {'metric':<16} {'baseline':>10} {'candidate':>10} {'difference [CI]':>30}  status"
        )
        for m in group.metrics:
            interval = f"{_fmt(m.mean_difference)} [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]"
            status = "REGRESSED" if m.regressed else "improved" if m.improved else "-"
            lines.append(
                f"  {m.metric:<16} {_fmt(m.baseline_mean):>10} {_fmt(m.candidate_mean):>10} "
                f"{interval:>30}  {status}"
            )
    unmatched = len(comparison.unmatched_baseline_pairs) + len(comparison.unmatched_candidate_pairs)
    if unmatched:
        lines.append("")
        lines.append(
            f"unmatched pairs: {len(comparison.unmatched_baseline_pairs)} of the baseline, "
            f"{len(comparison.unmatched_candidate_pairs)} of the candidate"
        )
    lines.append("")
    lines.append(f"rule: {comparison.rule_statement}")
    if comparison.regression:
        lines.append("decision: REGRESSION")
        lines.extend(f"  {reason}" for reason in comparison.reasons)
    else:
        lines.append("decision: no regression")
    return "\n".join(lines)


def run_compare_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Execute ``compare``; returns the exit code."""
    rule = _rule(args)
    baseline, candidate = _read(args.baseline), _read(args.candidate)
    try:
        comparison = compare_reports(
            baseline,
            candidate,
            rule,
            baseline_name=str(args.baseline),
            candidate_name=str(args.candidate),
        )
    except IncomparableReportsError as error:
        raise _InputError(str(error)) from None
    document = comparison.model_dump_json(indent=2)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(document + "\n", encoding="utf-8")
    if args.html is not None:
        from reporting.comparison_html import SideImages, render_comparison_html
        from reporting.html import ReportImages

        def file_link(link: str) -> Path | None:
            path = Path(link)  # a report written with --maps links its maps by path
            return path if path.is_file() else None

        on_disk = ReportImages(artifact=file_link, restored=lambda _: None)
        page = render_comparison_html(
            comparison,
            baseline=SideImages(baseline, on_disk),
            candidate=SideImages(candidate, on_disk),
        )
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(page, encoding="utf-8")
    if args.json:
        stdout.write(document + "\n")
    elif not args.quiet:
        stdout.write(summary_table(comparison) + "\n")
    if args.fail_on_regression and comparison.regression:
        return EXIT_REGRESSION
    return EXIT_OK


def main_compare(args: argparse.Namespace) -> int:
    """Run ``compare`` with errors turned into one line and an exit code."""
    return exit_code(lambda: run_compare_command(args, sys.stdout), (_InputError,))
