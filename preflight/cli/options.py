"""Option groups every command shares, and turning parameters (command line over config file over
profile) into ``Options``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from pydantic import ValidationError

from preflight.cli.errors import usage_error, validation_message
from preflight.config import NOT_CONFIG_KEYS, ConfigError, ConfigFile, find_config, load_config
from preflight.decisions import DecisionsError, DecisionsFile, load_decisions
from preflight.models import FailOn
from preflight.names import NameError_, parse_name
from preflight.options import Options
from preflight.profiles import BUILTIN, PROFILE_OPTIONS
from preflight.provider_detection import PROVIDERS
from preflight.registry import all_checks
from preflight.reports import FORMATS
from preflight.suggest import did_you_mean

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def split_list(values: Iterable[str]) -> list[str]:
    """Repeatable options that also accept comma lists: ``-s a,b -s c``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def default(field: str) -> Any:
    """The ``Options`` default of ``field``: click shows and uses it, never a copy of it."""
    value = Options.model_fields[field].get_default(call_default_factory=True)
    return value.value if isinstance(value, Enum) else value


def bounded(field: str) -> click.IntRange | click.FloatRange:
    """click's range for ``field``: the bounds the ``Options`` model declares (``ge``/``gt``/``le``/``lt``),
    never a copy of them; an int field gets an ``IntRange``, a float field a ``FloatRange``."""
    info = Options.model_fields[field]
    bound: dict[str, Any] = {}
    for constraint in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(constraint, name, None) is not None:
                bound[name] = getattr(constraint, name)
    if not bound:
        raise ValueError(f"Options.{field} declares no bounds")
    low, high = bound.get("ge", bound.get("gt")), bound.get("le", bound.get("lt"))
    low_open, high_open = "gt" in bound, "lt" in bound
    if info.annotation is int:
        return click.IntRange(low, high, min_open=low_open, max_open=high_open)
    return click.FloatRange(low, high, min_open=low_open, max_open=high_open)


def by_profile(field: str) -> str:
    """What ``--help`` shows as the default of an option the profile supplies: each built-in profile's
    value (``generic 3, ardent 10, ...``), never the bare field default a profile overrides."""
    attr = PROFILE_OPTIONS[field]
    values = ", ".join(f"{name} {_shown(getattr(profile, attr))}" for name, profile in BUILTIN.items())
    return f"from --profile: {values}"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _apply(decorators: list[Decorator]) -> Decorator:
    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return wrap


output_options = _apply([
    click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)), default="table", show_default=True,
                 help="Output format on stdout."),
    click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT:]PATH",
                 help="Write the --format rendering to PATH, or FORMAT's rendering with FORMAT:PATH (repeatable)."),
])

view_options = _apply([
    click.option("--verbose", "-v", "detail", flag_value="verbose",
                 help="Table: every check, every finding in full, and the tables that need attention."),
    click.option("--quiet", "-q", "detail", flag_value="quiet",
                 help="Only the verdict line on stdout, whatever --format (--output files are still written)."),
    click.option("--color", "--colour", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
                 show_default=True, help="Colour the table on a terminal (auto honours NO_COLOR and TERM=dumb)."),
])

run_options = _apply([
    click.option("--fail-on", type=click.Choice([f.value for f in FailOn]), default=default("fail_on"), show_default=True,
                 help="Exit 1 when a check reaches this level: error (any fail), warning (fail or warn), never."),
    click.option("--check", "only", multiple=True, metavar="ID", help="Run only these checks (repeatable; comma lists)."),
    click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (repeatable; comma lists)."),
])

selection_options = _apply([
    click.option("--schema", "-s", "schemas", multiple=True, metavar="NAME",
                 help="Schema to replicate, raw name (repeatable; comma lists). Default: every non-system schema."),
    click.option("--table", "-t", "tables", multiple=True, metavar="SCHEMA.TABLE",
                 help='Table to replicate (repeatable). Quote a part holding a dot or quote: "my.schema".t'),
    click.option("--role", default=default("role"), metavar="NAME",
                 help="Judge this role's privileges (a DBA auditing the CDC role while connected as an admin)."),
])

# Only `check` takes it: a fleet entry or a decisions file is about one database.
all_databases_option = _apply([
    click.option("--all-databases", is_flag=True, default=default("all_databases"),
                 help="Check every connectable, non-template database of the cluster (cluster-wide facts read once; "
                      "--slots-needed and the walsenders then count per database with selected tables)."),
    click.option("--database", "databases", multiple=True, metavar="PATTERN",
                 help="With --all-databases: only databases whose name matches this shell pattern (repeatable, "
                      "e.g. 'shop_*')."),
    click.option("--exclude-database", "exclude_databases", multiple=True, metavar="PATTERN",
                 help="With --all-databases: leave out databases whose name matches this shell pattern (repeatable)."),
])

session_options = _apply([
    click.option("--connect-timeout", type=bounded("connect_timeout"), default=default("connect_timeout"), show_default=True,
                 metavar="SECONDS", help="Give up connecting after this long."),
    click.option("--statement-timeout", type=bounded("statement_timeout"), default=default("statement_timeout"),
                 show_default=True, metavar="SECONDS", help="Cancel any catalog query running longer."),
    click.option("--lock-timeout", type=bounded("lock_timeout"), default=default("lock_timeout"), show_default=True,
                 metavar="SECONDS", help="Never wait longer for a lock (e.g. behind a migration's ACCESS EXCLUSIVE)."),
])

PROFILE_OPTION = click.option(
    "--profile", default=default("profile"), show_default=True, metavar="NAME|FILE",
    help=f"What 'ready' means (the consumer's rules): {', '.join(BUILTIN)}, or a profile .toml.")

consumer_options = _apply([
    PROFILE_OPTION,
    click.option("--provider", default=default("provider"), metavar="NAME",
                 help=f"Override provider detection ({', '.join(PROVIDERS)})."),
    click.option("--plugin", default=default("plugin"), show_default=by_profile("plugin"),
                 help="Output plugin the consumer will use."),
    click.option("--slot-name", default=default("slot_name"), help="Replication slot name the consumer will use."),
    click.option("--publication", default=default("publication"), help="Publication the consumer will use."),
    click.option("--probe", is_flag=True, default=default("probe"),
                 help="Prove the output plugin loads with a TEMPORARY logical slot (dies with its session)."),
    click.option("--slots-needed", type=bounded("slots_needed"), default=default("slots_needed"),
                 show_default=by_profile("slots_needed"), help="Free replication slots the consumer needs."),
    click.option("--max-xact-age", type=bounded("max_xact_age"), default=default("max_xact_age"),
                 show_default=by_profile("max_xact_age"),
                 metavar="SECONDS", help="Transactions older than this delay slot creation: reported."),
    click.option("--sample", type=bounded("sample"), default=default("sample"), metavar="SECONDS",
                 help="Measure the WAL rate over this window to size the slot's downtime budget (default: off)."),
    click.option("--decisions", "decisions_file", default=None, metavar="FILE",
                 help='Replica-identity decisions: {"decisions": {"schema.table": "exclude|add_pk|replica_identity_full"}}.'),
    click.option("--config", "config_file", default=None, metavar="FILE",
                 help="Options file (default: ./pg-preflight.toml, or [tool.pg-preflight] in ./pyproject.toml)."),
])

# click parameter -> Options field: a parameter named like a field sets it; these two are renamed.
# The rest of the parameters (format, outputs, config file) are not options of a run.
_RENAMED = {"decisions_file": "decisions", "only": "checks"}
_FIELDS = {**{name: name for name in Options.model_fields if name not in _RENAMED.values()}, **_RENAMED}
# Config-file keys are the Options fields themselves (waivers are merged as a list, below).
_CONFIG_FIELDS = [name for name in Options.model_fields if name != "waivers" and name not in NOT_CONFIG_KEYS]


def _convert(field: str, value: Any, where: str) -> Any:
    """A raw value (command line or config) as the ``Options`` field wants it; bad input exits 2."""
    if field in ("schemas", "checks", "skip", "databases", "exclude_databases"):
        return split_list([value] if isinstance(value, str) else value)
    if field == "tables":
        try:
            return [parse_name(t) for t in value]
        except NameError_ as exc:
            usage_error(f"{where}: {exc}")
    if field == "decisions":
        try:
            return load_decisions(value)
        except DecisionsError as exc:
            usage_error(f"--decisions {exc}")
    if field == "fail_on":
        return FailOn(value) if value in {f.value for f in FailOn} else usage_error(f"{where}: fail_on {value!r}")
    return value


def explicit_params(ctx: click.Context) -> set[str]:
    """Parameters the user gave (command line or environment), as opposed to click defaults."""
    return {name for name in ctx.params
            if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)}


def read_config(path: str | None) -> ConfigFile | None:
    found = find_config(path, Path.cwd())
    if found is None:
        return None
    try:
        return load_config(found)
    except ConfigError as exc:
        usage_error(str(exc))


def build_options(ctx: click.Context, config: ConfigFile | None, preset: dict[str, Any] | None = None) -> Options:
    """Options from, in rising precedence: the profile (applied later), ``preset`` (e.g. --request),
    the config file, and what the user typed. Only values actually given count as explicit."""
    values: dict[str, Any] = dict(preset or {})
    if config is not None:
        for field in _CONFIG_FIELDS:
            value = config.value(field)
            if value is not None:
                values[field] = _convert(field, value, "config")
        if config.waivers:
            values["waivers"] = list(config.waivers)
    for name in explicit_params(ctx):
        if name in _FIELDS:
            values[_FIELDS[name]] = _convert(_FIELDS[name], ctx.params[name], f"--{name.replace('_', '-')}")
    if isinstance(values.get("decisions"), DecisionsFile):  # its per-database part is an option of its own
        values["database_decisions"] = values["decisions"].databases
        values["decisions"] = values["decisions"].tables
    try:
        options = Options(**values)
    except ValidationError as exc:
        usage_error(validation_message(exc))
    if (options.databases or options.exclude_databases) and not options.all_databases:
        usage_error("--database and --exclude-database choose among the databases of --all-databases: add it")
    known = {c.id for c in all_checks()[0]}
    for waiver in options.waivers:
        if waiver.check not in known:
            usage_error(f"config: a waiver names the unknown check id {waiver.check!r}{did_you_mean(waiver.check, known)}")
    return options


