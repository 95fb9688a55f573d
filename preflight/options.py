"""What the user asked for: the target, the selection and the thresholds. Shared by CLI and API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from preflight.consumers.model import ConsumerSettings
from preflight.models import Decision, FailOn
from preflight.names import QualifiedName, format_name, parse_name
from preflight.profiles import PROFILE_OPTIONS, ProfileError, load_profile
from preflight.provider_detection import PROVIDERS
from preflight.waivers import Waiver


class Options(BaseModel):
    """Options of one run. Every field has a safe default, so ``Options()`` checks the libpq target."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dsn: str | None = Field(None, description="URI or key=value; None = libpq environment")
    schemas: list[str] = Field(default_factory=list, description="raw schema names")
    tables: list[QualifiedName] = Field(default_factory=list)
    plugin: str = "pgoutput"
    slot_name: str | None = None
    publication: str | None = None
    profile: str = "generic"
    slots_needed: int = Field(1, ge=0, le=10000)
    senders_needed: int = Field(1, ge=0, le=10000)
    checks: list[str] = Field(default_factory=list, description="only these check ids")
    skip: list[str] = Field(default_factory=list, description="check ids not to run")
    connect_timeout: float = Field(10.0, gt=0, le=3600)
    statement_timeout: float = Field(30.0, gt=0, le=86400)
    lock_timeout: float = Field(5.0, gt=0, le=86400)
    fail_on: FailOn = FailOn.ERROR
    role: str | None = Field(None, description="judge this role's privileges instead of current_user")
    probe: bool = Field(False, description="prove the plugin loads with a TEMPORARY slot")
    decisions: dict[str, Decision] = Field(default_factory=dict, description="canonical schema.table -> decision")
    max_xact_age: float = Field(600.0, gt=0, le=10**7, description="seconds before a transaction counts as long")
    waivers: list[Waiver] = Field(default_factory=list)
    provider: str | None = Field(None, description="override provider detection (e.g. rds, cloudsql, self-managed)")
    sample: float = Field(0.0, ge=0, le=3600, description="seconds to measure the WAL rate over (0: not measured)")
    all_databases: bool = Field(False, description="check every connectable database of the cluster")
    databases: list[str] = Field(default_factory=list, description="with all_databases: only databases matching these "
                                 "shell patterns")
    exclude_databases: list[str] = Field(default_factory=list, description="with all_databases: not the databases "
                                         "matching these shell patterns")
    database_decisions: dict[str, dict[str, Decision]] = Field(
        default_factory=dict, description="dbname -> canonical schema.table -> decision, over the decisions there")
    consumer: ConsumerSettings | None = Field(None, description="what --consumer-config read beyond the options above")

    @field_validator("tables", mode="before")
    @classmethod
    def _parse_tables(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [parse_name(v) if isinstance(v, str) else v for v in value]
        return value

    def in_database(self, dbname: str | None) -> Options:
        """The options of a run pointed at ``dbname``: its own decisions over the file's common ones."""
        own = self.database_decisions.get(dbname or "")
        if not own:
            return self
        return self.model_copy(update={"decisions": {**self.decisions, **own}})

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        """An unknown name would silently get self-managed fixes (ALTER SYSTEM) on a managed service."""
        if value is not None and value not in PROVIDERS:
            reason = f"unknown provider {value!r}; one of {', '.join(PROVIDERS)}"
            raise PydanticCustomError("provider", "{reason}", {"reason": reason})
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        try:
            load_profile(value)
        except ProfileError as exc:
            raise PydanticCustomError("profile", "{reason}", {"reason": str(exc)}) from None
        return value

    @field_validator("schemas")
    @classmethod
    def _no_empty_schema(cls, value: list[str]) -> list[str]:
        if any(s == "" for s in value):
            raise ValueError("empty schema name")
        return value

    def report_view(self) -> dict[str, Any]:
        """The ``options`` object of the report: what shaped the verdict, never the DSN."""
        return {
            "schemas": list(self.schemas),
            "tables": [format_name(t.schema, t.name) for t in self.tables],
            "plugin": self.plugin,
            "slot_name": self.slot_name,
            "publication": self.publication,
            "profile": self.profile,
            "slots_needed": self.slots_needed,
            "senders_needed": self.senders_needed,
            "checks": list(self.checks),
            "skip": list(self.skip),
            "connect_timeout": self.connect_timeout,
            "statement_timeout": self.statement_timeout,
            "lock_timeout": self.lock_timeout,
            "fail_on": self.fail_on.value,
            "role": self.role,
            "probe": self.probe,
            "decisions": dict(self.decisions),
            "max_xact_age": self.max_xact_age,
            "provider": self.provider,
            "sample": self.sample,
            "all_databases": self.all_databases,
            **({"databases": list(self.databases)} if self.databases else {}),
            **({"exclude_databases": list(self.exclude_databases)} if self.exclude_databases else {}),
            **({"database_decisions": {k: dict(v) for k, v in self.database_decisions.items()}}
               if self.database_decisions else {}),
            **({"consumer_config": self.consumer.report_view()} if self.consumer is not None else {}),
        }


def apply_profile(options: Options) -> Options:
    """The options with the profile's values for everything the user did not set explicitly."""
    profile = load_profile(options.profile)
    update = {field: getattr(profile, attr) for field, attr in PROFILE_OPTIONS.items()
              if field not in options.model_fields_set}
    resolved = options.model_copy(update=update)
    resolved.__pydantic_fields_set__ = set(options.model_fields_set)  # still "not explicit" after resolving
    return resolved
