"""What a fix does, as values: a setting change, a grant, an ALTER TABLE, a publication change, any other
statement built with ``psycopg.sql``, and the steps that are not SQL.

Checks build these; standby routing, the SQL script's merging of one setting's changes and a provider's
way of changing settings read their fields. Text is made only when a format writes them (``text()``,
every name and literal quoted by ``preflight.sqltext``): nothing reads SQL back.

A leaf module (``psycopg.sql``, ``sqltext``, ``settings``): the report models and every format may use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from psycopg import sql

from preflight.settings import SIZE_BYTES, TIME_MS
from preflight.sqltext import SqlName, Template, render

Value = str | int | float | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingPlace:
    """Where a provider that refuses ALTER SYSTEM changes a server setting, and how the change is applied."""

    where: str  # "in the DB parameter group set {name} = {value}"
    restart: str  # what applies a setting that changes only at server start
    reload: str = "it applies without a restart"


@dataclass(frozen=True, slots=True)
class SettingChange:
    """``name`` set to ``value`` (written in ``unit`` when it is a size or duration: ``58`` ``GB``).

    ``place`` is how the provider applies it: ``None`` for ALTER SYSTEM (then a reload, or a restart when
    ``restart``), else its parameter group, flag or console, which take a bare number in the setting's own
    unit (``setting_unit``, pg_settings.unit). In a remediation's ``sql`` it is the ALTER SYSTEM statement;
    in its ``steps``, the provider's instruction.
    """

    on_standby: ClassVar[bool] = True  # ALTER SYSTEM is no database write: it sets the standby's own value

    name: str
    value: Value
    unit: str | None = None
    restart: bool = False
    place: SettingPlace | None = None
    provider: str = ""  # the provider's title, for its instruction
    setting_unit: str | None = None

    def written(self) -> list[str]:
        """Each value as ALTER SYSTEM takes it: with its unit (``58GB``), a list one entry each."""
        if isinstance(self.value, tuple):
            return list(self.value)
        return [f"{self.value}{self.unit or ''}"]

    def magnitude(self) -> float | None:
        """The value in the setting's base unit (bytes, milliseconds), to compare two changes of one
        setting whatever units each chose; None for a value that is not a number."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            return None
        if self.unit is None:
            return self.value
        factor = SIZE_BYTES.get(self.unit, TIME_MS.get(self.unit))
        return None if factor is None else self.value * factor

    def composed(self) -> sql.Composed:
        return sql.SQL("ALTER SYSTEM SET {} = {};").format(
            sql.Identifier(self.name), sql.SQL(", ").join(sql.Literal(v) for v in self.written()))

    def text(self) -> str:
        return render(self.composed())

    def in_setting_unit(self) -> tuple[str, str | None]:
        """The value for a provider's parameter: a bare number in the setting's own unit, and that unit
        (``59392``, ``MB``); other values as they are, and no unit."""
        shown = ", ".join(self.written())
        unit = self.setting_unit
        factors = SIZE_BYTES if unit in SIZE_BYTES else TIME_MS if unit in TIME_MS else None
        if (factors is None or unit is None or not isinstance(self.value, int) or isinstance(self.value, bool)
                or self.unit not in _CONVERTIBLE or self.unit not in factors):
            return shown, None
        return str(math.ceil(self.value * factors[self.unit] / factors[unit])), unit

    def instruction(self) -> str:
        """The provider's step (its place, how it applies, and the self-managed equivalent statement)."""
        place = self.place or CONSOLE
        shown, unit = self.in_setting_unit()
        in_unit = f" (in {unit}, the parameter's unit)" if unit else ""
        apply = place.restart if self.restart else place.reload
        return (f"{self.provider} refuses ALTER SYSTEM: {place.where.format(name=self.name, value=shown)}{in_unit}; "
                f"{apply}.{EQUIVALENT}{self.text()}")


_CONVERTIBLE = ("kB", "MB", "GB", "TB", "ms", "s", "min", "h", "d")  # units a value converts from
CONSOLE = SettingPlace("change {name} to {value} in the provider's console (or ask its support)",
                       "the provider restarts the server")
EQUIVALENT = " Self-managed equivalent (not runnable here): "


@dataclass(frozen=True, slots=True)
class Reload:
    """``SELECT pg_catalog.pg_reload_conf();``: applies reloadable settings on the server it runs on."""

    on_standby: ClassVar[bool] = True

    def text(self) -> str:
        return "SELECT pg_catalog.pg_reload_conf();"


RELOAD = Reload()

GrantKind = Literal["privilege", "membership", "attribute"]


@dataclass(frozen=True, slots=True)
class Grant:
    """``role`` gets ``privilege``: on an object (``GRANT SELECT ON TABLE s.t TO r``), as membership of a
    role (``GRANT rds_replication TO r``: ``privilege`` is that role), or as a role attribute
    (``ALTER ROLE r WITH REPLICATION``). ``on`` is the object's kind as GRANT spells it."""

    on_standby: ClassVar[bool] = False

    role: str
    privilege: str
    kind: GrantKind = "privilege"
    on: Literal["", "DATABASE", "SCHEMA", "TABLE", "ALL TABLES IN SCHEMA"] = ""
    object: SqlName = ""

    def composed(self) -> sql.Composed:
        grantee = sql.Identifier(self.role) if self.role != "CURRENT_USER" else sql.SQL("CURRENT_USER")
        if self.kind == "attribute":
            return sql.SQL("ALTER ROLE {} WITH {};").format(grantee, sql.SQL(_KEYWORDS[self.privilege]))
        if self.kind == "membership":
            group = sql.SQL(_PREDEFINED[self.privilege]) if self.privilege in _PREDEFINED else sql.Identifier(self.privilege)
            return sql.SQL("GRANT {} TO {};").format(group, grantee)
        target = sql.Identifier(*self.object) if isinstance(self.object, tuple) else sql.Identifier(self.object)
        if not self.on:  # a table, named without its kind
            return sql.SQL("GRANT {} ON {} TO {};").format(sql.SQL(_KEYWORDS[self.privilege]), target, grantee)
        return sql.SQL("GRANT {} ON {} {} TO {};").format(
            sql.SQL(_KEYWORDS[self.privilege]), sql.SQL(_KEYWORDS[self.on]), target, grantee)

    def text(self) -> str:
        return render(self.composed())


# The keywords a grant writes as SQL text: only these (anything else is a programming error).
_KEYWORDS = {k: k for k in ("LOGIN", "REPLICATION", "CONNECT", "USAGE", "CREATE", "SELECT", "SELECT, INSERT, UPDATE",
                             "INSERT", "UPDATE", "INSERT, UPDATE",
                             "DATABASE", "SCHEMA", "TABLE", "ALL TABLES IN SCHEMA")}

# PostgreSQL's predefined roles, written bare as the documentation does (any other role is quoted).
_PREDEFINED = {k: k for k in ("pg_read_all_stats", "pg_read_all_settings", "pg_monitor")}

TableAction = Literal["REPLICA IDENTITY DEFAULT", "REPLICA IDENTITY FULL", "REPLICA IDENTITY USING INDEX", "SET LOGGED",
                      "ADD PRIMARY KEY USING INDEX"]
# One statement per table (100k tables): templates, not psycopg compositions built and walked each time.
_ALTER_TABLE = {action: Template(f"ALTER TABLE {{}} {action}{' {}' if action.endswith('INDEX') else ''};")
                for action in ("REPLICA IDENTITY DEFAULT", "REPLICA IDENTITY FULL", "REPLICA IDENTITY USING INDEX",
                               "SET LOGGED", "ADD PRIMARY KEY USING INDEX")}


@dataclass(frozen=True, slots=True)
class AlterTable:
    """``ALTER TABLE schema.table <action>``: its replica identity or primary key (``index`` for USING INDEX), or
    SET LOGGED."""

    on_standby: ClassVar[bool] = False

    table: tuple[str, str]
    action: TableAction
    index: str | None = None

    def text(self) -> str:
        template = _ALTER_TABLE[self.action]
        return template.render(self.table, self.index) if self.index is not None else template.render(self.table)


PublicationAction = Literal["create", "add"]
_PUBLICATION = {("create", False): Template("CREATE PUBLICATION {} FOR TABLE {};"),
                ("create", True): Template("CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true);"),
                ("add", False): Template("ALTER PUBLICATION {} ADD TABLE {};")}
_OPTION_VALUES = {"true": sql.SQL("true"), "stored": sql.SQL("stored")}  # keyword values, written bare


@dataclass(frozen=True, slots=True)
class PublicationChange:
    """A publication created for ``tables`` or given more of them (``action``), or one option set
    (``option`` = ``value``, e.g. ``publish`` = ``'insert, update, delete'``)."""

    on_standby: ClassVar[bool] = False

    publication: str
    action: PublicationAction | Literal["set"] = "add"
    tables: tuple[SqlName, ...] = ()
    via_root: bool = False
    option: str = ""
    value: str = ""

    def text(self) -> str:
        if self.action == "set":
            value = _OPTION_VALUES.get(self.value, sql.Literal(self.value))
            return render(sql.SQL("ALTER PUBLICATION {} SET ({} = {});").format(
                sql.Identifier(self.publication), sql.SQL(_OPTIONS[self.option]), value))
        return _PUBLICATION[self.action, self.via_root].render(self.publication, list(self.tables))


_OPTIONS = {k: k for k in ("publish", "publish_via_partition_root", "publish_generated_columns")}


@dataclass(frozen=True, slots=True)
class Sql:
    """Any other statement, composed with ``psycopg.sql`` (a statement read back from a JSON report is kept
    as its text)."""

    on_standby: ClassVar[bool] = False

    composed: sql.Composable

    def text(self) -> str:
        return render(self.composed)


Statement = SettingChange | Reload | Grant | AlterTable | PublicationChange | Sql


@dataclass(frozen=True, slots=True)
class Restart:
    """A step: restart PostgreSQL (the text says why). A brief script says it once, at its end."""

    why: str  # ": wal_level changes only at server start." or " to apply the pending change."

    def text(self) -> str:
        return f"Restart PostgreSQL{self.why}"


@dataclass(frozen=True, slots=True)
class OnPrimary:
    """A step on a standby source: ``statement`` must run on the primary (a standby refuses it), or on the
    primary as well (``also``: decoding on a standby needs ``wal_level`` there too)."""

    statement: Statement
    also: bool = False

    def text(self) -> str:
        return (ALSO_ON_PRIMARY if self.also else ON_PRIMARY) + self.statement.text()


ON_PRIMARY = "Run on the primary: "
ALSO_ON_PRIMARY = "Run on the primary as well (decoding on a standby needs it there too): "


@dataclass(frozen=True, slots=True)
class Advice:
    """A step in words that names statements to run by hand (another connection, a choice to make, a
    value to pick): the sentence's text and its statements, in order. A setting change in it is the
    provider's instruction where the provider refuses ALTER SYSTEM."""

    parts: tuple[str | Statement, ...]

    def text(self) -> str:
        return "".join(p if isinstance(p, str) else _in_words(p) for p in self.parts)


def advice(*parts: str | Statement) -> Advice:
    return Advice(parts)


def _in_words(statement: Statement) -> str:
    return statement.instruction() if isinstance(statement, SettingChange) and statement.place else statement.text()


Step = str | Restart | OnPrimary | SettingChange | Advice


def step_text(step: Step) -> str:
    """A step as the formats write it: a provider's setting change is its instruction."""
    if isinstance(step, str):
        return step
    return _in_words(step) if isinstance(step, SettingChange) else step.text()


def statement_text(statement: Statement) -> str:
    return statement.text()


def as_statement(value: object) -> Statement:
    """A statement value as given, or the text of one (a JSON report read back) kept as that text."""
    if isinstance(value, SettingChange | Reload | Grant | AlterTable | PublicationChange | Sql):
        return value
    if isinstance(value, str):
        return Sql(sql.SQL(value))  # text read back, written as it was
    raise ValueError(f"not a statement: {value!r}")


def as_step(value: object) -> Step:
    if isinstance(value, str | Restart | OnPrimary | SettingChange | Advice):
        return value
    raise ValueError(f"not a step: {value!r}")
