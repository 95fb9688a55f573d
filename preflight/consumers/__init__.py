"""The consumer's own configuration (``--consumer-config FILE``): one module per format, each turning the file
into one ``ConsumerConfig``; the format is told from the content unless ``--consumer-format`` names it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preflight.consumers import airbyte, debezium, dms, request
from preflight.consumers.base import ConsumerConfigError
from preflight.consumers.model import ConsumerConfig, ConsumerSettings
from preflight.consumers.properties import PropertiesError, looks_like_properties, parse_properties
from preflight.files import read_text

Parser = Callable[[Path, Any], ConsumerConfig]
# name -> (is this content the format's, parse it); detection tries them in this order.
FORMATS: dict[str, tuple[Callable[[Any], bool], Parser]] = {
    "debezium": (debezium.is_debezium, debezium.parse),
    "aws-dms": (dms.is_dms, dms.parse),
    "airbyte": (airbyte.is_airbyte, airbyte.parse),
    "request": (request.is_request, request.parse),
}

__all__ = ["FORMATS", "ConsumerConfig", "ConsumerConfigError", "ConsumerSettings", "load_consumer_config"]


def _content(path: Path) -> Any:
    """The file as JSON, else as a properties file; ``ConsumerConfigError`` for neither."""
    text = read_text(path, ConsumerConfigError)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith(("{", "[")) or not looks_like_properties(text):
            raise ConsumerConfigError(f"{path}: neither JSON (line {exc.lineno} column {exc.colno}: {exc.msg}) "
                                      "nor a connector .properties file") from None
    except RecursionError:
        raise ConsumerConfigError(f"{path}: not usable JSON: nested too deeply") from None
    try:
        return parse_properties(text)
    except PropertiesError as exc:
        raise ConsumerConfigError(f"{path}: {exc}") from None


def load_consumer_config(path: Path, fmt: str | None = None) -> ConsumerConfig:
    """The configuration the file holds, in the format ``fmt`` or the one its content shows."""
    raw = _content(path)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConsumerConfigError(f"unknown consumer format {fmt!r}; one of {', '.join(FORMATS)}")
        return FORMATS[fmt][1](path, raw)
    for _, (matches, parse) in FORMATS.items():
        if matches(raw):
            return parse(path, raw)
    raise ConsumerConfigError(f"{path}: not a consumer configuration pg-preflight reads (a Debezium connector, an "
                              f"AWS DMS endpoint, an Airbyte source, a preflight request); formats: {', '.join(FORMATS)}")
