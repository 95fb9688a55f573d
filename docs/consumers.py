"""Write docs/consumers.md from the built-in profiles: every consumer's rules, the check that judges each, and
where each comes from (the consumer's own documentation, named by title, or our own judgement).

``python docs/consumers.py`` from the repository root rewrites it; tests/test_profiles_docs_unit.py fails when it is
stale, so the page is the profiles' own data.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.profiles import BUILTIN, Profile  # noqa: E402

# Every rule a profile can set, the check that judges it, and how its value reads. The order is the page's.
RULES: dict[str, tuple[str, str]] = {
    "min_version_num": ("server_version", "PostgreSQL version at least"),
    "plugin": ("plugin_availability, existing_slots", "output plugin"),
    "consumer.slots": ("slot_capacity", "slots and walsenders while streaming"),
    "consumer.sync_workers": ("slot_capacity, grants", "temporary slots and walsenders during the initial copy"),
    "consumer.snapshot_connections": ("grants", "ordinary connections during the initial copy"),
    "consumer.operations": ("publication", "operations the publication must publish"),
    "consumer.identity": ("table_keys", "replica identity every table needs"),
    "consumer.full_needs_equality": ("table_keys", "FULL needs a default equality operator on every column"),
    "consumer.applies_replica_identity_full": ("table_keys", "applies a decided REPLICA IDENTITY FULL itself"),
    "consumer.needs_heartbeat": ("idle_database", "needs a heartbeat on a quiet database"),
    "min_max_replication_slots": ("logical_replication", "max_replication_slots at least"),
    "min_max_wal_senders": ("logical_replication", "max_wal_senders at least"),
    "wal_sender_timeout_zero_ok": ("logical_replication", "wal_sender_timeout = 0 accepted"),
    "ssl_required": ("reachability", "TLS required"),
    "writer_required": ("writer_status", "the primary (writer) required"),
    "publish_via_partition_root": ("publication", "publish_via_partition_root = true required"),
    "failover_slots": ("failover_slots", "how it creates a failover slot"),
    "streams_in_progress": ("large_transactions", "how it streams in-progress transactions"),
    "migration_cutover": ("sequences", "a migration cutover (sequences judged)"),
    "computes_generated_columns": ("columns", "computes generated columns itself"),
    "column_rules": ("columns", "column types it cannot carry"),
}
# The columns of the overview table: the rules every consumer is compared on.
OVERVIEW = ("min_version_num", "plugin", "consumer.snapshot_connections", "consumer.operations", "consumer.identity",
            "consumer.needs_heartbeat", "min_max_replication_slots", "publish_via_partition_root", "ssl_required",
            "writer_required", "column_rules")
SHORT = {"min_version_num": "version", "plugin": "plugin", "consumer.snapshot_connections": "snapshot conns",
         "consumer.operations": "operations", "consumer.identity": "identity", "consumer.needs_heartbeat": "heartbeat",
         "min_max_replication_slots": "slots/senders", "publish_via_partition_root": "via root",
         "ssl_required": "TLS", "writer_required": "writer", "column_rules": "column types"}


def value(profile: Profile, rule: str) -> str:
    """The rule's value as the page shows it."""
    if rule == "column_rules":
        return ", ".join(dict.fromkeys(r.match for r in profile.column_rules)) or "none"
    if rule == "consumer.slots":
        consumer = profile.consumer
        return f"{consumer.slots} slot, {consumer.senders} walsender"
    if rule == "min_max_replication_slots":
        return f"{profile.min_max_replication_slots} / {profile.min_max_wal_senders}"
    owner: object = profile.consumer if rule.startswith("consumer.") else profile
    raw = getattr(owner, rule.removeprefix("consumer."))
    if rule == "min_version_num":
        return f"{raw // 10000}" if raw >= 100000 else f"{raw // 10000}.{raw // 100 % 100}"
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, tuple):
        return ", ".join(str(x) for x in raw)
    return str(raw) if raw != "" else "none"


def mark(profile: Profile, rule: str) -> str:
    """``D`` documented by the consumer, ``O`` ours, ``-`` not set (the default applies)."""
    source = profile.source_of(rule)
    if rule == "min_max_replication_slots" and source is None:
        source = profile.source_of("min_max_wal_senders")
    if source is None and rule == "column_rules" and profile.column_rules:
        return "D" if any(r.source != "ours" for r in profile.column_rules) else "O"
    if source is None:
        return "-"
    return "D" if source.documented else "O"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def consumers() -> str:
    lines = ["# Consumer profiles: what each consumer needs, and who says so", "",
             "Generated by `python docs/consumers.py` from the built-in profiles (`preflight/profiles.py`): do not edit "
             "by hand. Every rule a built-in profile sets names where it comes from: **documented** (the consumer's "
             "own documentation, named by title and section) or **ours** (our own judgement, with the reason). "
             "`--profile NAME` applies one; a profile file (`--profile path.toml`) sets the same keys, "
             "`[consumer]` for the consumer's.", "",
             "## Overview", "",
             "D: documented by the consumer; O: ours; -: not set (the default applies).", "",
             "| profile | " + " | ".join(SHORT[r] for r in OVERVIEW) + " |",
             "|---|" + "---|" * len(OVERVIEW)]
    for profile in BUILTIN.values():
        cells = [f"{cell(value(profile, r))} ({mark(profile, r)})" for r in OVERVIEW]
        lines.append(f"| `{profile.name}` | " + " | ".join(cells) + " |")
    lines += ["", "## The rules and the checks that judge them", "", "| rule | judged by | meaning |", "|---|---|---|"]
    lines += [f"| `{rule}` | {', '.join(f'`{c}`' for c in checks.split(', '))} | {meaning} |"
              for rule, (checks, meaning) in RULES.items()]
    for profile in BUILTIN.values():
        lines += ["", f"## `{profile.name}`: {profile.consumer.kind}", "", profile.description, "",
                  "| rule | value | documented or ours | source |", "|---|---|---|---|"]
        for rule in RULES:
            source = profile.source_of(rule)
            if source is None:
                continue
            kind = "documented" if source.documented else "ours"
            lines.append(f"| `{rule}` | {cell(value(profile, rule))} | {kind} | {cell(source.source)} |")
        for column in profile.column_rules:
            kind = "ours" if column.source == "ours" else "documented"
            lines.append(f"| `column_rules`: `{column.match}` ({column.severity}) | {cell(column.says)} | {kind} | "
                         f"{cell(column.source)} |")
        if profile.naming is not None:
            naming = profile.naming
            lines.append(f"| `naming`: {cell(naming.target)} | `{naming.template}`, characters outside "
                         f"`[{naming.allowed}]` replaced by `{naming.replacement}`; a collision is an "
                         f"{naming.collision} | {'ours' if naming.source == 'ours' else 'documented'} | "
                         f"{cell(naming.source)} |")
        if profile.notes:
            lines += ["", "What its documentation says that no check judges:", ""]
            lines += [f"- {cell(note)}" for note in profile.notes]
    return "\n".join(lines) + "\n"


GENERATED = {ROOT / "docs" / "consumers.md": consumers}

if __name__ == "__main__":
    for path, build in GENERATED.items():
        path.write_text(build(), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
