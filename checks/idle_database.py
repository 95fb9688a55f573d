"""A quiet database on a busy cluster: its slot keeps the cluster's WAL until the consumer gets an event."""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.slot_budget import WalRate, wal_rate
from preflight.codes import Code, declare
from preflight.facts import DATABASE_ACTIVITY, WAL_SAMPLE, WAL_STATS
from preflight.facts.publications import consumer_publication
from preflight.models import Finding, Remediation, Severity
from preflight.profiles import consumer_sessions
from preflight.settings import human_bytes
from preflight.statements import Grant, PublicationChange, Sql, Statement, Step, advice

CODES = declare(
    Code("idle_database_keepalive", Severity.INFO, "a quiet database; the consumer advances its slot on keepalives",
         explain="Nothing to do."),
    Code("heartbeat_needed", Severity.WARNING, "a quiet database: the consumer's slot retains the cluster's WAL",
         explain="Give the consumer a heartbeat (a table it writes to here, or pg_logical_emit_message)."),
    Code("idle_database_own_heartbeat", Severity.INFO, "a quiet database, and the consumer writes its own heartbeat",
         explain="Nothing to do: the consumer's own heartbeat keeps its slot moving."),
)

# Below this share of the cluster's written rows a database is quiet: its consumer may go hours without an event.
QUIET_SHARE = 0.01
# ... and only when the other databases wrote at least this many rows (a new cluster's set-up is no workload).
BUSY_ELSEWHERE_ROWS = 10000
HEARTBEAT_TABLE = ("public", "cdc_heartbeat")


class IdleDatabase(Check):
    id = "idle_database"
    report_order = 142
    title = "A quiet database's slot keeps moving (heartbeat)"
    facts = (DATABASE_ACTIVITY,)
    optional_facts = (WAL_STATS, WAL_SAMPLE)
    why = (
        "WAL is shared by the whole cluster, but a logical slot advances only when its consumer confirms a "
        "position, and many consumers confirm only changes they received. A database with few writes on a "
        "cluster that writes WAL elsewhere gives its consumer nothing to confirm: the slot keeps every "
        "segment written meanwhile, until the disk fills or max_slot_wal_keep_size invalidates the slot. A "
        "heartbeat (a periodic write to a published table in this database) gives it an event. The counters "
        "are pg_stat_database's since their reset: a forecast from past writes, so a warning. A consumer whose "
        "profile needs no heartbeat (needs_heartbeat off) and confirms keepalives or writes heartbeats of its own "
        "(Datastream, Sequin) is only noted."
    )
    remediation = ("Configure the consumer's heartbeat: a table in this database, published, that the CDC role may "
                   "INSERT and UPDATE, written on the primary (Debezium: heartbeat.interval.ms and heartbeat.action.query).")

    def run(self, ctx: CheckContext) -> Outcome:
        rows = ctx.fact(DATABASE_ACTIVITY)
        current = next((r for r in rows if r.is_current), None)
        total = sum(r.tuples_written for r in rows)
        if current is None or total == 0:
            return Outcome([], "no rows written in the cluster since the statistics reset")
        share = current.tuples_written / total
        summary = f"{share:.1%} of the cluster's written rows are in {current.datname}"
        if share >= QUIET_SHARE or total - current.tuples_written < BUSY_ELSEWHERE_ROWS:
            return Outcome([], summary)
        consumer = consumer_sessions(ctx.profile)
        elsewhere = total - current.tuples_written
        busiest = max((r for r in rows if not r.is_current), key=lambda r: r.tuples_written)
        rate = wal_rate(ctx.optional_fact(WAL_SAMPLE), ctx.optional_fact(WAL_STATS))
        wal = (f"the cluster writes {human_bytes(rate.bytes_per_s * 86400)} of WAL a day ({rate.source})"
               if isinstance(rate, WalRate) else rate.rstrip("."))
        observed = f"{current.tuples_written} of {total} rows"
        quiet = (f"Database {current.datname} holds {share:.2%} of the rows written in the cluster since the statistics "
                 f"reset ({current.tuples_written} here, {elsewhere} elsewhere, most in {busiest.datname}); {wal}.")
        if not ctx.profile.consumer.needs_heartbeat and consumer.confirms_keepalives:
            return Outcome([Finding(
                code="idle_database_keepalive", severity=Severity.INFO, object=current.datname, observed=observed,
                message=f"{quiet} Profile '{ctx.profile.name}' confirms the server's keepalive positions with nothing "
                        "to apply, so its slot advances without a heartbeat.")], summary)
        if not ctx.profile.consumer.needs_heartbeat and consumer.heartbeat:
            return Outcome([Finding(
                code="idle_database_own_heartbeat", severity=Severity.INFO, object=current.datname, observed=observed,
                message=f"{quiet} Profile '{ctx.profile.name}' says its consumer needs no heartbeat of yours: "
                        f"{consumer.heartbeat} moves its slot (docs/consumers.md).")], summary)
        return Outcome([self._heartbeat(ctx, quiet, observed, current.datname, consumer.heartbeat)], summary)

    @staticmethod
    def _heartbeat(ctx: CheckContext, quiet: str, observed: str, datname: str, setting: str) -> Finding:
        role = ctx.options.role or (ctx.snapshot.server.user if ctx.snapshot.server else None) or "CURRENT_USER"
        table = sql.Identifier(*HEARTBEAT_TABLE)
        statements: list[Statement] = [
            Sql(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY, beat timestamptz NOT NULL);")
                .format(table)),
            Grant(role, "SELECT, INSERT, UPDATE", object=HEARTBEAT_TABLE),
        ]
        publication = consumer_publication(ctx.options)
        steps: list[Step] = []
        if publication:
            steps.append(advice("Publish it unless the publication is FOR ALL TABLES: ",
                                PublicationChange(publication, "add", (HEARTBEAT_TABLE,))))
        upsert = Sql(sql.SQL("INSERT INTO {} VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET beat = EXCLUDED.beat")
                     .format(table))
        how = f"the consumer's {setting}" if setting else "the consumer's heartbeat, or a scheduled job"
        steps.append(advice(f"Have {how} run on the primary, every few minutes: ", upsert))
        return Finding(
            code="heartbeat_needed", severity=Severity.WARNING, object=datname, observed=observed,
            expected=f"at least {QUIET_SHARE:.0%} of the writes, or a heartbeat",
            message=f"{quiet} A consumer that confirms only the changes it receives keeps the cluster's WAL in its "
                    f"slot until this database changes; profile '{ctx.profile.name}' needs a heartbeat: a table here, "
                    "in the publication, that the CDC role may INSERT and UPDATE, written on the primary. This is a "
                    "forecast from past writes: whether the consumer is configured with one the report cannot see.",
            remediation=Remediation(sql=statements, steps=[*steps]),
        )
