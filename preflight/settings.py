"""Setting values for people: the units of pg_settings, and sizes and durations written as SHOW writes them.

A setting itself is a ``SettingRow`` (``preflight.facts``), which converts its value with these."""

from __future__ import annotations

import math

# The units pg_settings reports, in milliseconds and in bytes.
TIME_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
SIZE_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "16kB": 16384, "32kB": 32768, "64kB": 65536, "MB": 1024**2,
              "16MB": 16 * 1024**2, "GB": 1024**3, "TB": 1024**4}


def duration_value(ms: float) -> tuple[int | float, str | None]:
    """A duration in milliseconds as a setting's value: the largest unit dividing it (``60``, ``s``), else
    milliseconds; 0 has no unit."""
    if ms == 0:
        return 0, None
    for unit, factor in (("d", 86400000), ("h", 3600000), ("min", 60000), ("s", 1000)):
        if ms >= factor and ms % factor == 0:
            return int(ms // factor), unit
    return ms, "ms"


def human_ms(ms: float) -> str:
    amount, unit = duration_value(ms)
    if unit is None:
        return "0"
    return f"{ms:g}ms" if unit == "ms" else f"{amount}{unit}"


def human_duration(seconds: float) -> str:
    """A measured duration for people: seconds, minutes below an hour (never "0.0 h"), else hours."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def human_bytes(size: int | float) -> str:
    """Exact units when the value divides evenly (like SHOW), else one decimal."""
    if size == 0:
        return "0"
    for unit, factor in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= factor:
            return f"{int(size // factor)}{unit}" if size % factor == 0 else f"{size / factor:.1f}{unit}"
    return f"{int(size)}B"


def size_value(size: int | float) -> tuple[int, str]:
    """A size for a setting's value, with its unit: the whole GB at or above ``size`` from 1 GB on, else whole
    MB (``58`` ``GB``, ``512`` ``MB``). Rounded up, so a recommended size is never below what is needed; every
    size setting accepts these units (a bare number would mean the setting's own unit, often MB)."""
    if size >= 1024**3:
        return math.ceil(size / 1024**3), "GB"
    return max(math.ceil(size / 1024**2), 1), "MB"
