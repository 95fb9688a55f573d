"""Server settings as the checks see them: typed values, units, and display."""

from __future__ import annotations

import re
from dataclasses import dataclass

from preflight.facts.server import SettingRow

_TIME_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000}
_SIZE_BYTES = {"B": 1, "kB": 1024, "8kB": 8192, "16kB": 16384, "32kB": 32768, "64kB": 65536, "MB": 1024**2,
               "16MB": 16 * 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(frozen=True)
class Setting:
    """One pg_settings row."""

    name: str
    setting: str
    unit: str | None = None
    vartype: str = "string"
    context: str = ""
    source: str = ""
    pending_restart: bool = False
    boot_val: str | None = None

    @classmethod
    def from_row(cls, row: SettingRow) -> Setting:
        return cls(name=row.name, setting=row.setting, unit=row.unit, vartype=row.vartype or "string",
                   context=row.context or "", source=row.source or "", pending_restart=row.pending_restart,
                   boot_val=row.boot_val)

    def as_int(self) -> int:
        return int(float(self.setting))

    def in_ms(self) -> float | None:
        """The value in milliseconds for time settings (negative values kept as they are)."""
        if self.unit not in _TIME_MS:
            return None
        value = float(self.setting)
        return value if value < 0 else value * _TIME_MS[self.unit]

    def in_bytes(self) -> int | None:
        if self.unit not in _SIZE_BYTES:
            return None
        value = int(float(self.setting))
        return value if value < 0 else value * _SIZE_BYTES[self.unit]

    def display(self) -> str:
        """Like SHOW: ``60s``, ``1GB``, ``-1``, ``logical``."""
        if self.vartype not in ("integer", "real") or self.unit is None:
            return self.setting
        value = float(self.setting)
        if value < 0:
            return self.setting
        ms = self.in_ms()
        if ms is not None:
            return human_ms(ms)
        size = self.in_bytes()
        return human_bytes(size) if size is not None else self.setting


def human_ms(ms: float) -> str:
    if ms == 0:
        return "0"
    for unit, factor in (("d", 86400000), ("h", 3600000), ("min", 60000), ("s", 1000)):
        if ms >= factor and ms % factor == 0:
            return f"{int(ms // factor)}{unit}"
    return f"{ms:g}ms"


def human_bytes(size: int | float) -> str:
    """Exact units when the value divides evenly (like SHOW), else one decimal."""
    if size == 0:
        return "0"
    for unit, factor in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= factor:
            return f"{int(size // factor)}{unit}" if size % factor == 0 else f"{size / factor:.1f}{unit}"
    return f"{int(size)}B"


_HUMAN_BYTES = re.compile(r"^(\d+(?:\.\d+)?)(TB|GB|MB|kB|B)?\b")
_FACTORS = {"TB": 1024**4, "GB": 1024**3, "MB": 1024**2, "kB": 1024, "B": 1, None: 1}


def bytes_from_human(text: str) -> int | None:
    """The inverse of ``human_bytes`` (to one decimal) for text that starts with its output, else None."""
    match = _HUMAN_BYTES.match(text)
    if not match:
        return None
    return int(float(match.group(1)) * _FACTORS[match.group(2)])
