"""Decoding throughput, and whether decoding overlaps with the audit's device work.

Part 1: ``decode_image`` one file at a time (one thread) against ``decode_many`` with a pool of
``os.cpu_count()`` threads, on PNG and JPEG (quality 90) files of 256 and 1024 px RGB photo
crops in a temp dir (page cache warm). Prints images/s, file MB/s (compressed bytes read) and
pixel MB/s (decoded RGB, 3 bytes per pixel), and pool / single.

Part 2: the whole audit (default options, batch_size 16) of 64 PNG pairs at 256 px read from
files with ``decode_workers=1`` and with the default (CPU count), next to the same audit from
pre-decoded tensors (no decoding at all) and the single-threaded decode time of the 128 files.
If decoding were not overlapped, files would take tensors + decode; the printed "hidden"
fraction is how much of the decode time the files run did not add.
Runs alternate; best of ``--repeats``. Fixed seeds.
Usage: python benchmarks/bench_decode.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from benchmarks.common import machine_line
from tests.support.sample_pairs import crops, degrade
from workers.engine import PairSource, run_audit
from workers.io import decode_image, decode_many

KINDS = ("noise", "blur", "jpeg", "sharpen")


def encode(image: object, fmt: str) -> bytes:
    buffer = io.BytesIO()
    pil = Image.fromarray(image)  # type: ignore[arg-type]
    if fmt == "JPEG":
        pil.save(buffer, format="JPEG", quality=90)
    else:
        pil.save(buffer, format="PNG")
    return buffer.getvalue()


def best_of(repeats: int, *fns: Callable[[], object]) -> list[float]:
    """Best time of each function over ``repeats`` alternating rounds."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    started = time.monotonic()
    cores = os.cpu_count() or 1
    print(machine_line())

    with tempfile.TemporaryDirectory(prefix="ra-bench-decode-") as tmp:
        root = Path(tmp)
        print(f"\ndecoding alone (best of {args.repeats}; pool = decode_many, {cores} threads):")
        print(
            f"  {'format':6} {'side':>5} {'files':>5} {'single img/s':>13} {'pool img/s':>11} "
            f"{'single file MB/s':>17} {'pool file MB/s':>15} {'single px MB/s':>15} "
            f"{'pool px MB/s':>13} {'pool/single':>12}"
        )
        for fmt in ("PNG", "JPEG"):
            for side, count in ((256, 64), (1024, 16)):
                paths = []
                for i, image in enumerate(crops(count, side, seed=2)):
                    path = root / f"{fmt.lower()}{side}_{i}.{fmt.lower()}"
                    path.write_bytes(encode(image, fmt))
                    paths.append(path)
                names = [p.name for p in paths]
                file_mb = sum(p.stat().st_size for p in paths) / 1e6
                pixel_mb = count * side * side * 3 / 1e6
                decode_many(paths[:2], names[:2])  # warm-up

                def single(paths: list[Path] = paths) -> None:
                    for path in paths:
                        decode_image(path, name=path.name)

                def pooled(paths: list[Path] = paths, names: list[str] = names) -> None:
                    decode_many(paths, names, workers=cores)

                t_single, t_pool = best_of(args.repeats, single, pooled)
                print(
                    f"  {fmt:6} {side:5d} {count:5d} {count / t_single:13.1f} "
                    f"{count / t_pool:11.1f} {file_mb / t_single:17.1f} {file_mb / t_pool:15.1f} "
                    f"{pixel_mb / t_single:15.1f} {pixel_mb / t_pool:13.1f} "
                    f"{t_single / t_pool:11.2f}x"
                )

        # Part 2: the whole audit from files.
        pairs_n, side = 64, 256
        audit_dir = root / "audit"
        audit_dir.mkdir()
        files, tensors = [], []
        for i, gt in enumerate(crops(pairs_n, side, seed=3)):
            restored = degrade(gt, KINDS[i % 4], seed=i)
            gt_path, restored_path = audit_dir / f"gt{i}.png", audit_dir / f"restored{i}.png"
            gt_path.write_bytes(encode(gt, "PNG"))
            restored_path.write_bytes(encode(restored, "PNG"))
            files.append(PairSource(f"p{i}", KINDS[i % 4], gt_path, restored_path))
        for pair in files:
            gt_t = decode_image(pair.ground_truth, name="gt").tensor  # type: ignore[arg-type]
            re_t = decode_image(pair.restored, name="restored").tensor  # type: ignore[arg-type]
            tensors.append(PairSource(pair.id, pair.group, gt_t, re_t))
        all_paths = [p.ground_truth for p in files] + [p.restored for p in files]
        options = AuditOptions()
        run_audit(files[:4], options, device="cpu")  # warm-up

        def decode_all() -> None:
            for path in all_paths:
                decode_image(path, name="x")  # type: ignore[arg-type]

        t_dw1, t_default, t_tensors, t_decode = best_of(
            args.repeats,
            lambda: run_audit(files, options, device="cpu", decode_workers=1),
            lambda: run_audit(files, options, device="cpu"),
            lambda: run_audit(tensors, options, device="cpu"),
            decode_all,
        )
        print(
            f"\nwhole audit, {pairs_n} PNG pairs at {side} px, default options, batch_size 16, "
            f"best of {args.repeats}:"
        )
        print(
            f"  from files, decode_workers=1        : {pairs_n / t_dw1:7.2f} pairs/s "
            f"({t_dw1:.2f} s)"
        )
        print(
            f"  from files, decode_workers={cores} (default): {pairs_n / t_default:7.2f} pairs/s "
            f"({t_default:.2f} s)"
        )
        print(
            f"  from tensors (no decoding)          : {pairs_n / t_tensors:7.2f} pairs/s "
            f"({t_tensors:.2f} s)"
        )
        print(f"  decoding the {len(all_paths)} files alone, 1 thread: {t_decode:.2f} s")
        print(f"  ratio default / decode_workers=1: {t_dw1 / t_default:.2f}x speed")
        print(f"  ratio files (default) / tensors : {t_tensors / t_default:.1%} of tensor speed")
        for label, t in (("decode_workers=1", t_dw1), ("default", t_default)):
            hidden = (t_tensors + t_decode - t) / t_decode
            print(f"  decode time hidden by overlap, {label}: {hidden:.0%}")
    print(f"\ntotal benchmark time {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
