"""Named measurement conventions of the field (``preset`` option, ``--preset``).

Papers report PSNR and SSIM under different conventions, and numbers only compare under the
same one. A preset fixes the colour space the metrics are taken on and the border cropped
before them; the report echoes it in ``settings.preset`` beside the resolved ``color`` and
``crop_border``, so a reader sees which convention produced the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ColorMode = Literal["y", "y_full", "rgb"]
"""Colour space of the statistics: ``y`` MATLAB ``rgb2ycbcr`` luma (16-235), ``y_full``
full-range BT.601 luma, ``rgb`` the three channels."""

PresetName = Literal["basicsr-y", "y-full", "rgb"]


@dataclass(frozen=True)
class ConventionPreset:
    """What a preset fixes: the colour space, and whether the border cropped is the
    super-resolution scale (``"scale"``) or nothing (``"none"``)."""

    name: PresetName
    color: ColorMode
    crop: Literal["scale", "none"]
    description: str


PRESETS: Final[dict[str, ConventionPreset]] = {
    preset.name: preset
    for preset in (
        ConventionPreset(
            "basicsr-y",
            "y",
            "scale",
            "super-resolution papers (BasicSR calculate_psnr/calculate_ssim with "
            "test_y_channel=True, crop_border=scale): MATLAB rgb2ycbcr luma, the scale cropped "
            "from every side",
        ),
        ConventionPreset(
            "y-full",
            "y_full",
            "none",
            "full-range BT.601 luma (0.299 R + 0.587 G + 0.114 B), no crop",
        ),
        ConventionPreset("rgb", "rgb", "none", "the three RGB channels, no crop"),
    )
}
"""Every preset by name; ``PresetName`` lists the same names for the wire schema."""


def preset_settings(
    name: str,
    *,
    color: ColorMode | None,
    crop_border: int | None,
    scale: int | None,
) -> tuple[ColorMode, int]:
    """The ``(color, crop_border)`` a preset resolves to, given the options a caller set
    explicitly (``None``: not set) and the super-resolution scale of the degradation.

    Raises:
        ValueError: an explicit option contradicts the preset, or ``basicsr-y`` has no scale
            (neither a downsampling degradation nor ``crop_border``).

    >>> preset_settings("basicsr-y", color=None, crop_border=None, scale=4)
    ('y', 4)
    >>> preset_settings("rgb", color="rgb", crop_border=None, scale=4)
    ('rgb', 0)
    """
    preset = PRESETS[name]
    if color is not None and color != preset.color:
        raise ValueError(
            f"preset {name} measures on {preset.color}; color {color} contradicts it "
            "(leave color out, or choose another preset)"
        )
    if preset.crop == "none":
        if crop_border not in (None, 0):
            raise ValueError(
                f"preset {name} crops no border; crop_border {crop_border} contradicts it"
            )
        return preset.color, 0
    if scale is None:
        if crop_border is None:
            raise ValueError(
                f"preset {name} crops the super-resolution scale: give a downsampling "
                "degradation or crop_border"
            )
        return preset.color, crop_border
    if crop_border is not None and crop_border != scale:
        raise ValueError(
            f"preset {name} crops the scale ({scale}); crop_border {crop_border} contradicts it"
        )
    return preset.color, scale
