"""``restoration-audit audit --html FILE``: the self-contained page from the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api_schemas.report import AuditReport
from cli.main import main
from tests.support.report_demo import RESTORERS, demo_images, write_demo_folders


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_demo_folders(tmp_path_factory.mktemp("cli-html"), demo_images(count=2, size=48))


def audit_args(folders: dict[str, Path], *extra: str) -> list[str]:
    args = ["audit", "--ground-truth", str(folders["gt"]), "--bootstrap", "20"]
    for restorer in RESTORERS:
        args += ["--restored", f"{restorer}={folders[restorer]}"]
    args += ["--observations", str(folders["lr"]), "--degradation", "downsample:4:bicubic"]
    return [*args, *extra]


def test_help_documents_the_html_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--html FILE" in help_text
    assert "self-contained HTML page" in help_text
    assert "--html-thumbnails N" in help_text


def test_html_page_embeds_plots_maps_and_thumbnails(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path = tmp_path / "out" / "report.html"
    code = main(
        audit_args(
            folders,
            "--maps", str(tmp_path / "maps"),
            "--html", str(page_path),
            "--html-thumbnails", "2",
        )
    )  # fmt: skip
    assert code == 0
    assert f"HTML report written to {page_path}" in capsys.readouterr().out
    page = page_path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2  # the UP and DP planes
    assert page.count('src="data:image/jpeg;base64,') == 2 * 2  # restored + map, 2 pairs
    assert page.count('<article class="pair ') == 2
    assert len(re.findall(r'<td class="name">[a-z]+/photo\d</td>', page)) == 6
    assert str(folders["gt"]) in page
    assert not list(page_path.parent.glob("*.tmp"))


def test_html_page_without_maps_has_the_plots_and_keeps_thumbnails(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    page_path, report_path = tmp_path / "report.html", tmp_path / "report.json"
    argv = audit_args(folders, "--quiet", "--html", str(page_path), "-o", str(report_path))
    assert main(argv) == 0
    page = page_path.read_text(encoding="utf-8")
    assert "without <code>--maps DIR</code>" in page  # the heat maps' note
    assert page.count('src="data:image/png;base64,') == 2  # the UP and DP planes, always
    assert "Plots and heat maps were not rendered" not in page
    assert page.count('src="data:image/jpeg;base64,') == 6  # restored images of all 6 pairs
    # The JSON report links no plot file: none was kept on disk.
    assert AuditReport.model_validate_json(report_path.read_text()).plots == {}


def test_negative_thumbnail_count_is_a_usage_error(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path = tmp_path / "report.html"
    code = main(audit_args(folders, "--html", str(page_path), "--html-thumbnails", "-1"))
    assert code == 2
    assert "--html-thumbnails" in capsys.readouterr().err
    assert not page_path.exists()
