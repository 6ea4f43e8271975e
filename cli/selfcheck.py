"""`restoration-audit selfcheck`: is the placement right for this degradation? (docs/theory.md
§3.12).

Synthesises an exact Gaussian problem under the named degradation (optionally with the power
spectrum of the client's ground truths), audits its exact posterior mean, a posterior sampler
and the mean plus half the posterior noise, and prints what the theory expects beside what the
engine measured. Exit codes follow ``audit``: 0 every check holds, 1 some check fails, 2 usage
error, 3 input error (a ground-truth folder without decodable images, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from api_schemas.exit_codes import EXIT_CHECK_FAILED, EXIT_OK
from api_schemas.selfcheck import (
    DEFAULT_IMAGES,
    DEFAULT_RESAMPLES,
    DEFAULT_SIZE,
    DEFAULT_TOLERANCE,
)
from cli.audit import (
    _images_by_stem,
    _parse_degradation,
    device_option,
    read_options_file,
)
from cli.errors import UsageError, exit_code, refused
from workers.device import DEVICE_CHOICES
from workers.errors import AuditInputError

if TYPE_CHECKING:
    import torch

    from api_schemas.selfcheck import SelfCheckCreate
    from workers.selfcheck import SelfCheckResult


_HELP = "check on an exact Gaussian problem that the placement is right for a degradation"
_DESCRIPTION = (
    "Synthesise a stationary Gaussian source (its spectrum fitted to --ground-truth, "
    "or a default 1/f^3 one), observe it through --degradation, and audit its exact "
    "posterior mean, a posterior sampler and the mean plus half the posterior noise. "
    "The theory (docs/theory.md 3.12) expects uncertainty ratios 1, 2 and 1.25, all "
    "on the Gaussian-oracle frontier, the mean low risk and the sampler high. Use "
    "--images and --size like those of your own audit: the engine's prior depends "
    "on how many pixels it is fitted to. Exit 0 when every check holds, 1 when one "
    "fails."
)


def add_selfcheck_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("selfcheck", help=_HELP, description=_DESCRIPTION)
    example = "e.g. downsample:4:bicubic, noise:0.05 or a JSON object"
    p.add_argument(
        "--degradation", required=True, metavar="SPEC", help=f"the degradation, {example}"
    )
    p.add_argument(
        "--ground-truth",
        type=Path,
        metavar="DIR",
        help="folder of ground-truth images whose luma spectrum shapes the source "
        "(default: a 1/f^3 spectrum)",
    )
    p.add_argument(
        "--images",
        type=int,
        default=DEFAULT_IMAGES,
        metavar="N",
        help="images (default %(default)s)",
    )
    p.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        metavar="PX",
        help="image side in pixels (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthesis and bootstrap")
    p.add_argument("--device", default="auto", help=DEVICE_CHOICES)
    p.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_RESAMPLES,
        metavar="R",
        help="bootstrap resamples over pairs (default %(default)s)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="T",
        help="relative tolerance of the ratio checks (default %(default)s)",
    )
    p.add_argument(
        "--options",
        type=Path,
        metavar="FILE",
        help="JSON file of audit options (patch_size, color, crop_border, ...) as your "
        "audit uses them",
    )
    p.add_argument(
        "--json", action="store_true", help="print the checks, the source and the report as JSON"
    )
    # Tests the self-check itself: the audit is told another degradation than the one that
    # made the data, so the checks must fail.
    p.add_argument("--audited-as", metavar="SPEC", help=argparse.SUPPRESS)


def _ground_truths(folder: Path) -> list[torch.Tensor]:
    from workers import io as image_io

    files = _images_by_stem(folder, "--ground-truth")
    decoded = image_io.decode_many(
        list(files.values()), [f"ground_truth[{stem}]" for stem in files]
    )
    return [image.tensor for image in decoded]


def _degradation(text: str, flag: str) -> dict[str, Any]:
    """The short form or JSON of a degradation, validated (a usage error naming ``flag``)."""
    from pydantic import ValidationError

    from api_schemas.degradation import parse_degradation

    try:
        spec = _parse_degradation(text)
    except UsageError as error:
        raise UsageError(str(error).replace("--degradation", flag, 1)) from error
    try:
        dumped: dict[str, Any] = parse_degradation(spec).model_dump(mode="json")
    except ValidationError as error:
        from api_schemas.problems import error_message

        first = error.errors()[0]
        raise UsageError(f"{flag}: invalid degradation: {error_message(first)}") from error
    return dumped


_FLAGS = {"resamples": "--bootstrap", "audit": "--options"}
"""Request fields whose command-line flag has another name."""


def _request(args: argparse.Namespace) -> SelfCheckCreate:
    """The command's parameters as ``POST /v1/selfchecks`` takes them: the one model checks
    both, so the command accepts what the service accepts."""
    from pydantic import ValidationError

    from api_schemas.problems import error_message
    from api_schemas.selfcheck import SelfCheckCreate

    audit = None
    if args.options is not None:
        audit = read_options_file(args.options)
        if not isinstance(audit, dict):
            raise UsageError("--options: expected a JSON object")
        if "degradation" in audit:
            raise UsageError("--options: give the degradation with --degradation")
    fields = {
        "degradation": _degradation(args.degradation, "--degradation"),
        "images": args.images,
        "size": args.size,
        "seed": args.seed,
        "tolerance": args.tolerance,
        "resamples": args.bootstrap,
        "audit": audit,
    }
    try:
        return SelfCheckCreate.model_validate(fields)
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0])
        flag = _FLAGS.get(field, f"--{field}")
        raise UsageError(f"{flag}: {error_message(error.errors()[0])}") from error


def checks_table(result: SelfCheckResult) -> str:
    """The checks as a table: expected beside measured, pass or FAIL, and a verdict line."""
    source = result.source
    spectrum = (
        f"spectrum fitted to {source.fitted_images} ground truths"
        if source.spectrum == "fitted"
        else "default 1/f^3 spectrum"
    )
    lines = [
        f"self-check of {json.dumps(source.degradation)} (docs/theory.md 3.12)",
        f"  {source.n_images} images of {source.size}x{source.size}, {spectrum}, pixel std "
        f"{source.pixel_std:.3g}, seed {source.seed}",
    ]
    if source.audited_degradation != source.degradation:
        lines.append(f"  audited as {json.dumps(source.audited_degradation)}")
    header = f"{'check':<36} {'expected':<12} {'measured':<34} result"
    lines += ["", header, "-" * len(header)]
    for check in result.checks:
        verdict = "pass" if check.holds else "FAIL"
        lines.append(f"{check.name:<36} {check.expected:<12} {check.measured:<34} {verdict}")
    lines.append("")
    for note in result.notes:
        lines.append(f"note: {note}")
    failed = [c for c in result.checks if not c.holds]
    timing = f"synthesis {result.synthesis_seconds:.1f} s, audit {result.audit_seconds:.1f} s"
    if failed:
        lines.append(
            f"{len(failed)} of {len(result.checks)} checks FAILED ({timing}): do not trust the "
            "placement for this degradation and these settings"
        )
    else:
        lines.append(f"all {len(result.checks)} checks passed ({timing})")
    return "\n".join(lines)


def run_selfcheck_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Execute ``selfcheck``; returns the exit code."""
    from pydantic import ValidationError

    from workers.selfcheck import SelfCheckError, run_selfcheck_request

    request = _request(args)
    audited = None if args.audited_as is None else _degradation(args.audited_as, "--audited-as")
    device_option(args.device)
    truths = _ground_truths(args.ground_truth) if args.ground_truth is not None else None
    try:
        result = run_selfcheck_request(request, truths, args.device, audited_degradation=audited)
    except ValidationError as error:
        raise refused(error) from error
    except ValueError as error:
        if isinstance(error, AuditInputError):
            raise
        raise UsageError(str(error)) from error
    except SelfCheckError as error:
        raise AuditInputError(str(error), part="selfcheck") from error
    if args.json:
        stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        stdout.write(checks_table(result) + "\n")
    return EXIT_OK if result.passed else EXIT_CHECK_FAILED


def main_selfcheck(args: argparse.Namespace) -> int:
    """Run ``selfcheck`` with errors turned into one line and an exit code."""
    return exit_code(lambda: run_selfcheck_command(args, sys.stdout), (AuditInputError,))
