"""The console script: help, pairing by name, exit codes, --json and --maps."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from api_schemas import AuditOptions, AuditReport
from api_schemas.cost import PairShape, estimate_job
from api_schemas.exit_codes import EXIT_OVER_BUDGET, EXIT_USAGE
from cli.audit import memory_size
from cli.main import main
from tests.support.console import console_argv
from tests.support.reports import assert_same_report
from tests.support.sample_pairs import crops, degrade


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    dirs = {name: root / name for name in ("gt", "blur", "noise")}
    for path in dirs.values():
        path.mkdir()
    for i, image in enumerate(crops(3, 48, seed=5)):
        Image.fromarray(image).save(dirs["gt"] / f"img{i}.png")
        Image.fromarray(degrade(image, "blur")).save(dirs["blur"] / f"img{i}.png")
        Image.fromarray(degrade(image, "noise", seed=i)).save(dirs["noise"] / f"img{i}.png")
    return dirs


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("audit", "serve", "worker", "openapi"):
        assert command in out
    assert "exit codes" in out


def test_audit_writes_the_report_and_a_summary(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "report.json"
    code = main(
        [
            "audit",
            "--ground-truth",
            str(folders["gt"]),
            "--restored",
            f"blur={folders['blur']}",
            "--restored",
            f"noise={folders['noise']}",
            "--output",
            str(output),
            "--bootstrap",
            "20",
            "--maps",
            str(tmp_path / "maps"),
        ]
    )
    assert code == 0
    report = AuditReport.model_validate_json(output.read_text())
    assert [g.name for g in report.groups] == ["blur", "noise"]
    assert sorted(p.id for p in report.pairs)[:2] == ["blur/img0", "blur/img1"]
    summary = capsys.readouterr().out
    assert "restorer" in summary
    assert "blur" in summary
    assert "noise" in summary
    map_path = Path(report.pairs[0].hallucination.maps["invented_detail"])
    assert map_path.is_file()
    with Image.open(map_path) as image:
        assert image.format == "PNG"


def test_json_flag_prints_only_the_report(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "audit",
            "--ground-truth",
            str(folders["gt"]),
            "--restored",
            str(folders["noise"]),
            "--json",
            "--bootstrap",
            "0",
        ]
    )
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["groups"][0]["name"] == "default"
    assert document["settings"]["color"] == "y"


def test_missing_counterpart_is_an_input_error_naming_the_file(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "img0.png").write_bytes((folders["blur"] / "img0.png").read_bytes())
    code = main(["audit", "--ground-truth", str(folders["gt"]), "--restored", f"x={partial}"])
    assert code == 3
    err = capsys.readouterr().err
    assert "img1.png has no restored image" in err
    assert "Traceback" not in err


def test_a_sample_folder_missing_an_input_is_an_input_error_naming_it(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Repeating a name makes samples (docs/theory.md 3.9); a second sample folder without
    # img1 would leave img1 with one sample in a many-sample group, which the CLI refuses
    # by naming the missing file and the folder's restorer, before any audit runs.
    partial = tmp_path / "partial"
    partial.mkdir()
    for stem in ("img0", "img2"):
        (partial / f"{stem}.png").write_bytes((folders["noise"] / f"{stem}.png").read_bytes())
    code = main(
        [
            "audit",
            "--ground-truth",
            str(folders["gt"]),
            "--restored",
            f"sd={folders['noise']}",
            "--restored",
            f"sd={partial}",
        ]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "img1.png has no restored image" in err
    assert "--restored sd" in err
    assert "Traceback" not in err


def test_corrupt_image_is_an_input_error(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in folders["blur"].iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    data = (broken / "img2.png").read_bytes()
    (broken / "img2.png").write_bytes(data[: len(data) // 2])
    code = main(["audit", "--ground-truth", str(folders["gt"]), "--restored", str(broken)])
    assert code == 3
    err = capsys.readouterr().err
    assert f"input error: {broken / 'img2.png'}: " in err  # the file, not a position
    assert len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(folders: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--restored", str(folders["blur"])]) == 2
    assert (
        main(
            [
                "audit",
                "--ground-truth",
                str(folders["gt"]),
                "--restored",
                str(folders["blur"]),
                "--patch-size",
                "1",
            ]
        )
        == 2
    )
    assert "patch_size" in capsys.readouterr().err


def test_fail_on_gates_a_release(folders: dict[str, Path], tmp_path: Path) -> None:
    # Added noise is detail the truth does not have: its invented-detail ratio is about 0.4,
    # medium under the default thresholds and high under stricter ones from --options.
    args = [
        "audit",
        "--ground-truth",
        str(folders["gt"]),
        "--restored",
        str(folders["noise"]),
        "--quiet",
        "--bootstrap",
        "0",
    ]
    assert main(args) == 0
    assert main([*args, "--fail-on", "high"]) == 0
    assert main([*args, "--fail-on", "medium"]) == 1
    strict = tmp_path / "strict.json"
    strict.write_text(
        json.dumps(
            {"thresholds": {"high_invented_detail_ratio": 0.3, "medium_invented_detail_ratio": 0.1}}
        )
    )
    assert main([*args, "--options", str(strict), "--fail-on", "high"]) == 1


@pytest.mark.integration  # starts a process
def test_console_script_runs_as_a_process(folders: dict[str, Path], tmp_path: Path) -> None:
    result = subprocess.run(
        [
            *console_argv(),
            "audit",
            "--ground-truth",
            str(folders["gt"]),
            "--restored",
            str(folders["blur"]),
            "--quiet",
            "--output",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["schema_version"] == "2"


def test_known_degradation_with_observations(tmp_path: Path) -> None:
    gt, sr, lr = (tmp_path / n for n in ("gt", "sr", "lr"))
    for folder in (gt, sr, lr):
        folder.mkdir()
    for i, image in enumerate(crops(2, 96, seed=8)):
        low = Image.fromarray(image).resize((24, 24), Image.Resampling.BICUBIC)
        Image.fromarray(image).save(gt / f"{i}.png")
        low.save(lr / f"{i}.png")
        low.resize((96, 96), Image.Resampling.BICUBIC).save(sr / f"{i}.png")
    output = tmp_path / "report.json"
    code = main(
        [
            "audit",
            "--ground-truth",
            str(gt),
            "--restored",
            f"bicubic={sr}",
            "--observations",
            str(lr),
            "--degradation",
            "downsample:4:bicubic",
            "--quiet",
            "--output",
            str(output),
            "--maps",
            str(tmp_path / "maps"),
        ]
    )
    assert code == 0
    report = AuditReport.model_validate_json(output.read_text())
    group = report.groups[0]
    assert report.settings.degradation == {"type": "downsample", "factor": 4, "kernel": "bicubic"}
    assert report.settings.crop_border == 4
    assert group.inherent_uncertainty is not None
    assert group.up_region is not None
    assert all(p.consistency is not None for p in report.pairs)
    assert (tmp_path / "maps" / "up_plane.png").is_file()


def test_invalid_degradation_is_a_usage_error(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "audit",
            "--ground-truth",
            str(folders["gt"]),
            "--restored",
            str(folders["blur"]),
            "--degradation",
            "downsample:four",
        ]
    )
    assert code == 2
    assert "four" in capsys.readouterr().err


def test_openapi_prints_the_document_without_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RA_API_KEYS", "RA_LOCAL_MODE", "RA_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["paths"]["/v1/jobs"]["post"]["operationId"] == "create_job"


@pytest.mark.parametrize("device", ["tpu", "mps", "xla", "", "cuda:x", "cpu:3", "cuda:-1", "CPU"])
@pytest.mark.parametrize("command", ["audit", "selfcheck"])
def test_unknown_device_is_a_one_line_usage_error(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str], device: str, command: str
) -> None:
    if command == "audit":
        argv = ["audit", "--ground-truth", str(folders["gt"]), "--restored", str(folders["blur"])]
    else:
        argv = ["selfcheck", "--degradation", "downsample:4"]
    code = main([*argv, "--device", device])
    assert code == 2  # usage, not 1 (the --fail-on level reached)
    err = capsys.readouterr().err
    assert err.strip() == (
        f"restoration-audit: error: --device: expected auto, cpu, cuda or cuda:N, got {device!r}"
    )


def test_worker_settings_share_the_device_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from workers.settings import WorkerSettings

    for device in ("auto", "cpu", "cuda", "cuda:1"):
        assert WorkerSettings(device=device).device == device
    for device in ("cpu:3", "tpu", ""):
        with pytest.raises(ValidationError, match="expected auto, cpu, cuda or cuda:N"):
            WorkerSettings(device=device)


def test_short_degradation_in_the_options_file(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The options JSON of examples/README.md: the short form is a degradation there too."""
    options = tmp_path / "options.json"
    options.write_text('{"degradation": "blur:1.2", "maps": false}')
    output = tmp_path / "report.json"
    argv = ["audit", "--ground-truth", str(folders["gt"]), "--restored", str(folders["blur"])]
    code = main(
        [*argv, "--quiet", "--bootstrap", "0", "--options", str(options), "-o", str(output)]
    )
    assert code == 0, capsys.readouterr().err
    report = AuditReport.model_validate_json(output.read_text())
    assert report.settings.degradation == {"type": "blur", "sigma": 1.2, "kernel": None}
    options.write_text('{"degradation": {"factor": 4}}')
    assert main([*argv, "--quiet", "--options", str(options)]) == 2
    err = capsys.readouterr().err
    assert "invalid option degradation: expected a degradation" in err
    assert "_spec_tag" not in err
    assert "discriminator" not in err


def test_size_mismatch_names_the_files(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    for path in folders["blur"].iterdir():
        (small / path.name).write_bytes(path.read_bytes())
    Image.open(folders["blur"] / "img1.png").resize((40, 40)).save(small / "img1.png")
    code = main(["audit", "--ground-truth", str(folders["gt"]), "--restored", f"x={small}"])
    assert code == 3
    err = capsys.readouterr().err.strip()
    assert err == (
        f"restoration-audit: input error: {small / 'img1.png'}: size 40x40 differs from its "
        f"ground truth {folders['gt'] / 'img1.png'} (48x48)"
    )


def test_pair_ids_follow_the_service_rule(folders: dict[str, Path], tmp_path: Path) -> None:
    """The command line's ids (``restorer/name``) are valid ids of the service's options."""
    from api_schemas.jobs import JobCreateOptions

    output = tmp_path / "report.json"
    argv = ["audit", "--ground-truth", str(folders["gt"]), "--quiet", "--bootstrap", "0"]
    argv += ["--restored", f"blur={folders['blur']}", "--restored", f"noise={folders['noise']}"]
    assert main([*argv, "--output", str(output)]) == 0
    report = AuditReport.model_validate_json(output.read_text())
    pairs = [{"id": p.id, "group": p.group} for p in report.pairs]
    assert pairs[0] == {"id": "blur/img0", "group": "blur"}
    JobCreateOptions.model_validate({"pairs": pairs})  # raises if the service refuses one


def test_a_file_name_outside_the_id_rule_is_an_input_error(
    folders: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, restored = tmp_path / "gt", tmp_path / "restored"
    for folder in (gt, restored):
        folder.mkdir()
        (folder / ".hidden.png").write_bytes((folders["gt"] / "img0.png").read_bytes())
    assert main(["audit", "--ground-truth", str(gt), "--restored", f"x={restored}"]) == 3
    err = capsys.readouterr().err
    assert "'.hidden' is not a pair id" in err
    assert len(err.strip().splitlines()) == 1


def test_restorer_names_follow_the_service_rule(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["audit", "--ground-truth", str(folders["gt"]), "--restored", f"a b={folders['blur']}"]
    )
    assert code == 2
    assert "'a b' is not a restorer name" in capsys.readouterr().err


def test_maps_are_named_by_restorer_and_file(folders: dict[str, Path], tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    argv = ["audit", "--ground-truth", str(folders["gt"]), "--quiet", "--bootstrap", "0"]
    argv += ["--restored", f"blur={folders['blur']}", "--restored", f"noise={folders['noise']}"]
    assert main([*argv, "--maps", str(maps)]) == 0
    names = sorted(path.name for path in maps.iterdir())
    assert not [name for name in names if name.startswith("pair-")]
    for restorer in ("blur", "noise"):
        for stem in ("img0", "img1", "img2"):
            mine = [n for n in names if n.startswith(f"{restorer}_{stem}-")]
            assert any(n.endswith("-invented_detail.png") for n in mine), (restorer, stem, names)
    assert len(names) == len(set(names))


def test_audit_without_ground_truth_is_the_ground_truth_free_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/theory.md 3.9: posterior samples of an exact Gaussian source (tests/support) as
    # 8-bit files; their spread estimates N(X|Y) without ground truth.
    from api_schemas.report import GroundTruthFreeReport
    from tests.support.gaussian_source import gaussian_problem

    problem = gaussian_problem(
        {"type": "noise", "sigma": 0.05}, n_images=6, samples_per_input=4, seed=6
    )
    lr = tmp_path / "lr"
    lr.mkdir()
    sample_dirs = [tmp_path / f"s{k}" for k in range(4)]
    for i in range(6):
        _save_grey(lr / f"img{i}.png", problem.observation[i, 0])
        for k, folder in enumerate(sample_dirs):
            folder.mkdir(exist_ok=True)
            _save_grey(folder / f"img{i}.png", problem.samples[i, k, 0])
    output = tmp_path / "report.json"
    argv = [
        "audit",
        *[arg for folder in sample_dirs for arg in ("--restored", f"sd={folder}")],
        "--observations", str(lr),
        "--degradation", "noise:0.05",
        "--crop-border", "16",
        "--bootstrap", "20",
        "--maps", str(tmp_path / "maps"),
        "--output", str(output),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "only for a calibrated sampler" in out
    assert "missing error_to_spread_ratio" in out
    report = GroundTruthFreeReport.model_validate_json(output.read_text())
    (group,) = report.groups
    assert (group.n_inputs, group.per_input) == (6, 4)
    # 10 %: 8-bit rounding adds 1/12 grey level^2 per pixel to the spread (docs/theory.md 3.6)
    # and 6 inputs leave a few per cent of sampling noise.
    exact = problem.inherent_uncertainty(8)[0]
    assert group.inherent_uncertainty_from_spread.value == pytest.approx(exact, rel=0.10)
    assert Path(group.inputs[0].maps["sample_std"]).is_file()
    assert Path(group.inputs[0].maps["measurement"]).is_file()
    # Without the observations the ground-truth-free audit has nothing to stand on.
    no_obs = [a for a in argv if a not in ("--observations", str(lr))]
    assert main(no_obs) == 2
    assert "give --observations and --degradation" in capsys.readouterr().err
    # Its memory is not planned: a budget is refused rather than ignored.
    assert main([*argv, "--max-memory", "4GiB"]) == 2
    assert "--max-memory: the ground-truth-free audit" in capsys.readouterr().err


def _save_grey(path: Path, image: object) -> None:
    import torch

    assert isinstance(image, torch.Tensor)
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    Image.fromarray(pixels, mode="L").save(path)


def test_max_memory_parses_sizes_and_refuses_bad_ones() -> None:
    assert memory_size("4GiB") == 4 * 1024**3
    assert memory_size("512MiB") == 512 * 1024**2
    assert memory_size("4gb") == 4 * 1000**3
    assert memory_size("1000000") == 1_000_000
    for bad in ("x", "0", "-1GiB", "4 parsecs"):
        with pytest.raises(argparse.ArgumentTypeError):
            memory_size(bad)


def test_max_memory_bad_size_is_a_usage_error(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["audit", "--ground-truth", str(folders["gt"]), "--restored", str(folders["noise"])]
    assert main([*argv, "--max-memory", "lots"]) == EXIT_USAGE
    assert "--max-memory" in capsys.readouterr().err


def test_max_memory_too_small_exits_5_naming_the_pair(
    folders: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Below the worker process itself: nothing fits, not even in the thinnest bands.
    argv = ["audit", "--ground-truth", str(folders["gt"]), "--restored", str(folders["noise"])]
    assert main([*argv, "--max-memory", "100MiB"]) == EXIT_OVER_BUDGET
    err = capsys.readouterr().err
    assert err.startswith("restoration-audit: over the memory budget: --max-memory 100 MiB")
    assert "img0.png" in err
    assert "Traceback" not in err


def test_max_memory_bands_the_patch_statistics_and_keeps_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A budget just under the untiled estimate: the command plans row bands as the worker
    # does (api_schemas/cost.py), says so, and the report equals the untiled one.
    side = 160
    gt, restored = tmp_path / "gt", tmp_path / "rs"
    gt.mkdir()
    restored.mkdir()
    truth = crops(1, side, seed=9)[0]
    Image.fromarray(truth).save(gt / "a.png")
    Image.fromarray(degrade(truth, "noise", seed=9)).save(restored / "a.png")
    budget = estimate_job([PairShape(side, side, 3)], AuditOptions(color="rgb")).peak_bytes - 1
    argv = ["audit", "--ground-truth", str(gt), "--restored", str(restored), "--color", "rgb"]
    assert main([*argv, "-o", str(tmp_path / "whole.json")]) == 0
    capsys.readouterr()
    assert main([*argv, "-o", str(tmp_path / "banded.json"), "--max-memory", str(budget)]) == 0
    assert "patch statistics in row bands of" in capsys.readouterr().err
    whole = AuditReport.model_validate_json((tmp_path / "whole.json").read_text())
    banded = AuditReport.model_validate_json((tmp_path / "banded.json").read_text())
    assert_same_report(whole, banded)
