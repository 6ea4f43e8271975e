"""Per-pair CSV (``audit --csv``): one row per pair of the JSON report, same values."""

from __future__ import annotations

import csv
import math

import pytest
from PIL import Image

from api_schemas import AuditReport
from cli.main import main
from reporting.pairs_csv import PAIRS_CSV_COLUMNS
from tests.support.sample_pairs import crops, degrade


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditReport, list[dict[str, str]]]:
    root = tmp_path_factory.mktemp("csv")
    for name in ("gt", "blur", "same"):
        (root / name).mkdir()
    for i, image in enumerate(crops(3, 40, seed=11)):
        Image.fromarray(image).save(root / "gt" / f"im{i}.png")
        Image.fromarray(degrade(image, "blur")).save(root / "blur" / f"im{i}.png")
        Image.fromarray(image).save(root / "same" / f"im{i}.png")  # MSE 0: PSNR infinite
    code = main(
        [
            "audit",
            "--ground-truth",
            str(root / "gt"),
            "--restored",
            f"blur={root / 'blur'}",
            "--restored",
            f"same={root / 'same'}",
            "--bootstrap",
            "10",
            "--quiet",
            "--output",
            str(root / "report.json"),
            "--csv",
            str(root / "pairs.csv"),
        ]
    )
    assert code == 0
    report = AuditReport.model_validate_json((root / "report.json").read_text())
    with (root / "pairs.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return report, rows


def test_the_header_is_the_documented_column_list(
    audited: tuple[AuditReport, list[dict[str, str]]],
) -> None:
    _, rows = audited
    assert tuple(rows[0]) == PAIRS_CSV_COLUMNS
    assert PAIRS_CSV_COLUMNS[:6] == ("id", "group", "width", "height", "mse", "psnr")


def test_one_row_per_pair_with_the_reports_values(
    audited: tuple[AuditReport, list[dict[str, str]]],
) -> None:
    report, rows = audited
    assert [row["id"] for row in rows] == [pair.id for pair in report.pairs]
    for pair, row in zip(report.pairs, rows, strict=True):
        assert row["group"] == pair.group
        assert (int(row["width"]), int(row["height"])) == (pair.width, pair.height)
        # Floats round-trip exactly: the same number as the JSON report, not a rounded one.
        assert float(row["mse"]) == pair.distortion.mse
        assert float(row["ssim"]) == pair.distortion.ssim
        if pair.uncertainty.gaussian is None:
            assert row["uncertainty_gaussian"] == ""
        else:
            assert float(row["uncertainty_gaussian"]) == pair.uncertainty.gaussian
        assert row["risk_level"] == pair.risk.level
        assert row["risk_reasons"] == " | ".join(pair.risk.reasons)


def test_identical_images_have_infinite_psnr_in_the_table(
    audited: tuple[AuditReport, list[dict[str, str]]],
) -> None:
    report, rows = audited
    same = [row for row in rows if row["group"] == "same"]
    assert len(same) == 3
    for row in same:
        assert float(row["mse"]) == 0.0
        assert math.isinf(float(row["psnr"]))
    blurred = [row for row in rows if row["group"] == "blur"]
    json_psnr = {p.id: p.distortion.psnr for p in report.pairs if p.group == "blur"}
    assert all(float(row["psnr"]) == json_psnr[row["id"]] for row in blurred)
