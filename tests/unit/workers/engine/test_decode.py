"""The decode pipeline of the engine (workers/engine/decode.py), with a real thread pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from api_schemas.images import ImageLimits
from workers.engine.decode import DecodeAhead
from workers.engine.sources import PairSource
from workers.errors import AuditCancelledError, AuditInputError


def _png(path: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _chunks(tmp_path: Path) -> list[list[tuple[int, PairSource]]]:
    pairs = [
        PairSource(f"p{i}", "g", _png(tmp_path / f"gt{i}.png", i), _png(tmp_path / f"r{i}.png", 9))
        for i in range(5)
    ]
    return [list(enumerate(pairs))[:2], list(enumerate(pairs))[2:4], list(enumerate(pairs))[4:]]


def test_chunks_come_back_decoded_in_order(tmp_path: Path) -> None:
    chunks = _chunks(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        decoded = list(DecodeAhead(pool, ImageLimits()).decoded(chunks))
    assert [[item.index for item in chunk] for chunk in decoded] == [[0, 1], [2, 3], [4]]
    for chunk in decoded:
        for item in chunk:
            want = np.asarray(Image.open(tmp_path / f"gt{item.index}.png"), dtype=np.float32)
            got = item.ground_truth.permute(1, 2, 0).numpy() * 255
            np.testing.assert_allclose(got, want, atol=1e-3)


def test_the_next_chunk_is_decoding_while_one_is_handed_out(tmp_path: Path) -> None:
    chunks = _chunks(tmp_path)
    submitted: list[str] = []

    class Recording(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(args[1].id)
            return super().submit(fn, *args, **kwargs)

    with Recording(2) as pool:
        stream = DecodeAhead(pool, ImageLimits()).decoded(chunks)
        next(stream)
        assert submitted == ["p0", "p1", "p2", "p3"]
        stream.close()


def test_cancel_between_chunks_and_bad_files_are_typed(tmp_path: Path) -> None:
    chunks = _chunks(tmp_path)
    calls = iter([False, True])
    with ThreadPoolExecutor(2) as pool:
        stream = DecodeAhead(pool, ImageLimits(), should_cancel=lambda: next(calls)).decoded(chunks)
        assert len(next(stream)) == 2
        with pytest.raises(AuditCancelledError):
            next(stream)
        (tmp_path / "bad.png").write_bytes(b"not an image")
        bad = [(0, PairSource("bad", "g", tmp_path / "bad.png", tmp_path / "r0.png"))]
        with pytest.raises(AuditInputError):
            next(DecodeAhead(pool, ImageLimits()).decoded([bad]))
        tensor = [(0, PairSource("t", "g", torch.full((1, 8, 8), 2.0), torch.zeros(1, 8, 8)))]
        with pytest.raises(AuditInputError, match=r"\[0, 1\]"):
            next(DecodeAhead(pool, ImageLimits()).decoded([tensor]))
