"""``--consumer-config FILE`` (alias ``--request``): the consumer's own configuration as options.

The file's values are a preset under the config file and the command line (which win); the report's
``options.consumer_config.sources`` says where each one came from. A regular-expression selection (Debezium's
include/exclude lists) becomes the exact list of tables it captures, read from the server's catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import psycopg

from preflight.cli.errors import usage_error
from preflight.cli.options import _CONFIG_FIELDS, _FIELDS, explicit_params
from preflight.config import ConfigFile
from preflight.connection import DsnError, parse_dsn
from preflight.consumers import FORMATS, ConsumerConfig, ConsumerConfigError, load_consumer_config
from preflight.consumers.model import TableFilter
from preflight.consumers.selection import Matcher, candidate_tables
from preflight.names import QualifiedName, format_name
from preflight.options import Options

# Options a consumer file can set, and how the report names them.
SOURCED = ("dsn", "profile", "slot_name", "publication", "plugin", "schemas", "tables", "slots_needed",
           "senders_needed")

consumer_config_options = [
    click.option("--consumer-config", "--request", "consumer_file", default=None, metavar="FILE",
                 help="Read the consumer's own configuration: a Debezium connector (Kafka Connect JSON or "
                      ".properties), an AWS DMS source endpoint, an Airbyte Postgres source, or the JSON body of a "
                      "preflight request to the hosted CDC connector's API (--request). The connection (never its "
                      "password), slot, publication, plugin, tables, initial copy and heartbeat it implies are "
                      "judged; options given here win."),
    click.option("--consumer-format", type=click.Choice(sorted(FORMATS)), default=None,
                 help="The format of --consumer-config (default: told from its content)."),
]


def load(ctx: click.Context) -> ConsumerConfig | None:
    """The consumer file given, read (a bad one exits 2 with one line naming the file and the key)."""
    path, fmt = ctx.params.get("consumer_file"), ctx.params.get("consumer_format")
    if path is None:
        if fmt is not None:
            usage_error("--consumer-format describes --consumer-config: give the file too")
        return None
    try:
        return load_consumer_config(Path(path), fmt)
    except ConsumerConfigError as exc:
        usage_error(f"--consumer-config {exc}")


def preset(config: ConsumerConfig) -> dict[str, Any]:
    """The options the file implies (the lowest precedence after the profile's own values)."""
    values: dict[str, Any] = {"consumer": config.settings}
    if (dsn := config.connection.dsn()) is not None:
        values["dsn"] = dsn
    for field in ("profile", "slot_name", "publication", "plugin"):
        if (value := getattr(config, field)) is not None:
            values[field] = value
    if config.selection.schemas:
        values["schemas"] = list(config.selection.schemas)
    if config.selection.tables:
        values["tables"] = list(config.selection.tables)
    return values


def finish(ctx: click.Context, options: Options, config: ConsumerConfig, options_file: ConfigFile | None) -> Options:
    """The options with the regex selection resolved and every value's origin recorded."""
    from_config_file = {f for f in _CONFIG_FIELDS if options_file is not None and options_file.value(f) is not None}
    given = {_FIELDS[name] for name in explicit_params(ctx) if name in _FIELDS}
    if "dsn" in explicit_params(ctx):
        given.add("dsn")
    update: dict[str, Any] = {}
    sources = dict(config.settings.sources)
    if config.settings.format == "debezium" and not ({"tables", "schemas"} & (given | from_config_file)):
        update["tables"] = _captured(options, config)
    for field in SOURCED:
        if field in given:
            sources[field] = "command line"
        elif field in from_config_file:
            sources[field] = "config file"
        elif field == "profile" and config.profile is not None:
            sources[field] = f"{Path(config.settings.file).name}: {config.settings.format} format"
        elif field in ("slots_needed", "senders_needed") and not config.settings.initial_copy:
            sources[field] = (f"the profile's, less its table-sync workers ({sources.get('initial_copy', 'the file')}: "
                              "no initial copy)")
        sources.setdefault(field, "default")
    if config.settings.format == "debezium" and "tables" not in update and "tables" not in sources:
        sources["tables"] = "default"
    update["consumer"] = config.settings.model_copy(update={"sources": sources})
    explicit = set(options.model_fields_set)
    resolved = options.model_copy(update=update)
    resolved.__pydantic_fields_set__ = explicit | ({"tables"} if "tables" in update else set())
    return resolved


def _captured(options: Options, config: ConsumerConfig) -> list[QualifiedName]:
    """The tables Debezium captures on this server: its candidates through the file's filter."""
    spec = config.selection.filter or TableFilter()
    try:
        dsn = parse_dsn(options.dsn)
        names = candidate_tables(dsn, (options.connect_timeout, options.statement_timeout, options.lock_timeout))
    except DsnError as exc:
        usage_error(str(exc))
    except psycopg.Error:
        return []  # the run's own connection reports why the server cannot be read
    captured = Matcher(spec).select(names)
    if not captured and names:
        usage_error(f"--consumer-config {config.settings.file}: the include/exclude lists capture none of the "
                    f"{len(names)} tables of the database (first: {format_name(*names[0])})")
    return captured
