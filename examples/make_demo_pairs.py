"""Write a small demo data set: ground truths, 4x bicubic observations and two "restorers".

Uses photographs bundled with scikit-image (the ``examples`` extra, which ``make demo``
installs), so nothing is downloaded. Usage: ``make demo``, or
``.venv/bin/python examples/make_demo_pairs.py DIR [--count 4] [--size 128]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.sample_pairs import crops, degrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    try:
        import skimage.data  # noqa: F401  (the photographs)
    except ImportError:
        sys.exit(
            "make_demo_pairs.py needs scikit-image for its bundled photographs: run `make demo`, "
            "or `.venv/bin/pip install -e '.[examples]'` and this script with .venv/bin/python"
        )
    folders = {name: args.directory / name for name in ("gt", "lr", "bicubic", "sharpened")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    small = args.size // 4
    for i, image in enumerate(crops(args.count, args.size, seed=3)):
        truth = Image.fromarray(image)
        low = truth.resize((small, small), Image.Resampling.BICUBIC)
        truth.save(folders["gt"] / f"{i}.png")
        low.save(folders["lr"] / f"{i}.png")
        low.resize(truth.size, Image.Resampling.BICUBIC).save(folders["bicubic"] / f"{i}.png")
        Image.fromarray(degrade(image, "sharpen")).save(folders["sharpened"] / f"{i}.png")
    print(f"wrote {args.count} pairs under {args.directory}: " + ", ".join(folders))


if __name__ == "__main__":
    main()
