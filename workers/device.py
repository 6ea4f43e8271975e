"""The device rule of the command line (``--device``) and of worker settings (``RA_DEVICE``).

``auto`` (CUDA when present, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``. Anything else,
``mps``, ``xla``, ``tpu``, ``cpu:3``, an empty string, is refused here with one sentence, before
torch sees it (torch would raise a traceback for some and silently accept others).
Whether a CUDA device is present is checked when the audit starts
(``workers.engine.audit.resolve_device``).
"""

from __future__ import annotations

import re

__all__ = ["DEVICE_CHOICES", "parse_device"]

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"(auto|cpu|cuda|cuda:(0|[1-9][0-9]{0,3}))")


def parse_device(text: str) -> str:
    """``text`` if it names a device this project runs on, else a ``ValueError`` saying why.

    Example:
        >>> parse_device("cuda:1")
        'cuda:1'
        >>> parse_device("cpu:3")
        Traceback (most recent call last):
        ...
        ValueError: expected auto, cpu, cuda or cuda:N, got 'cpu:3'
    """
    if not isinstance(text, str) or not _DEVICE.fullmatch(text):
        raise ValueError(f"expected {DEVICE_CHOICES}, got {text!r}")
    return text
