"""``--request FILE``: a hosted CDC connector API's preflight request body, for teams that already produce it.

``{"org_id": "...", "service_name": "postgresql", "connection_details": {"url": "postgresql://..."},
"selected_schemas": ["public", "billing"]}``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from preflight.files import read_json, validated


class RequestError(ValueError):
    """A request body that cannot be used; the message names the file and the reason."""


class _Connection(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field(min_length=1)


class PreflightRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # org_id and future fields are the API's business

    service_name: str = "postgresql"
    connection_details: _Connection
    selected_schemas: list[str] = Field(default_factory=list)


def load_request(path: Path) -> dict[str, Any]:
    """The options the body implies: ``dsn`` and ``schemas``."""
    raw = read_json(path, RequestError)
    body: PreflightRequest = validated(path, RequestError, lambda: PreflightRequest.model_validate(raw))
    if body.service_name != "postgresql":
        raise RequestError(f"{path}: service_name is {body.service_name!r}; pg-preflight checks 'postgresql'")
    return {"dsn": body.connection_details.url, "schemas": list(body.selected_schemas)}
