"""A hosted CDC connector API's preflight request body (``--request FILE``, one format of ``--consumer-config``).

``{"org_id": "...", "service_name": "postgresql", "connection_details": {"url": "postgresql://..."},
"selected_schemas": ["public", "billing"]}``. The URL gives host, port, database, user and sslmode; a password
in it is dropped, as in every consumer file (libpq's environment or a pgpass file supplies it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict
from pydantic import BaseModel, ConfigDict, Field

from preflight.consumers.base import ConsumerConfigError
from preflight.consumers.model import Connection, ConsumerConfig, ConsumerSettings, Selection
from preflight.files import validated


class _Connection(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field(min_length=1)


class PreflightRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # org_id and future fields are the API's business

    service_name: str = "postgresql"
    connection_details: _Connection
    selected_schemas: list[str] = Field(default_factory=list)


def is_request(raw: Any) -> bool:
    return isinstance(raw, dict) and "connection_details" in raw


def parse(path: Path, raw: Any) -> ConsumerConfig:
    body: PreflightRequest = validated(path, ConsumerConfigError, lambda: PreflightRequest.model_validate(raw))
    if body.service_name != "postgresql":
        raise ConsumerConfigError(f"{path}: service_name is {body.service_name!r}; pg-preflight checks 'postgresql'")
    try:
        params = conninfo_to_dict(body.connection_details.url)
    except Exception:  # psycopg's message may quote the URL, password included
        raise ConsumerConfigError(f"{path}: connection_details.url: not a PostgreSQL URL") from None
    try:
        port = int(str(params["port"])) if params.get("port") else None
    except ValueError:
        raise ConsumerConfigError(f"{path}: connection_details.url: the port is not a number") from None
    connection = Connection(host=_text(params.get("host")), port=port, database=_text(params.get("dbname")),
                            user=_text(params.get("user")), sslmode=_text(params.get("sslmode")))
    sources = {"dsn": f"{path.name}: connection_details.url (without its password)",
               "schemas": f"{path.name}: selected_schemas"}
    return ConsumerConfig(connection=connection, profile=None, selection=Selection(schemas=tuple(body.selected_schemas)),
                          settings=ConsumerSettings(format="request", file=str(path), sources=sources))


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)
