"""Is the consumer's slot older than its publication (pgoutput, before PostgreSQL 18)?

pgoutput looks its publications up with the historic snapshot of the change it decodes. Before 18, a
change committed before the publication existed makes decoding fail with 'publication "..." does not
exist', and the consumer retries at the same place forever. The signal, read-only: transaction ids
assigned between the slot's catalog_xmin (the oldest transaction the slot may still decode) and the
publication row's xmin. Above 0, transactions wrote after the slot's horizon and before the publication:
the slot will decode them, and fail. 0 or below: nothing the slot still decodes predates the publication.
A slot that is streaming now may already be past them (its catalog_xmin lags what it confirmed): warn. A
slot created while another slot held an older horizon inherits that horizon, so the count may include
transactions older than the slot: warn, naming that slot.
From 18 pgoutput skips a publication it cannot see (a warning in the server log), so nothing breaks.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import PUBLICATION_AGE, PUBLICATIONS, SERVER, SLOTS, consumer_publication
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import SKIPS_MISSING_PUBLICATION, supports
from preflight.statements import Sql, advice

CODES = declare(
    Code("publication_after_slot", Severity.WARNING, "the slot exists and the publication does not yet",
         explain="Create the publication, then a new slot (or advance the slot past the publication's creation)."),
    Code("slot_predates_publication", (Severity.INFO, Severity.WARNING, Severity.ERROR), "the slot is older than its "
         "publication: decoding changes from before the publication fails before PostgreSQL 18 (info on 18, a warning "
         "when it may have confirmed past them)",
         explain="Recreate the slot after the publication, or advance it past the publication's creation."),
)


def fixes(slot: str, publication: str) -> Remediation:
    drop = Sql(sql.SQL("SELECT pg_catalog.pg_drop_replication_slot({});").format(sql.Literal(slot)))
    advance = Sql(sql.SQL("SELECT pg_catalog.pg_replication_slot_advance({}, pg_catalog.pg_current_wal_lsn());")
                     .format(sql.Literal(slot)))
    return Remediation(
        steps=[f"Stop the consumer, drop slot {slot!r} and let the consumer create it again now that publication "
               f"{publication!r} exists (it takes a new initial copy).",
               advice("Or, only if the consumer takes a new snapshot anyway: move the slot past the publication's "
                      "creation with ", advance, " Every change before that point is skipped."),
               "PostgreSQL 18 skips a publication that did not exist yet instead of failing."],
        sql=[drop], destructive=True)


class SlotPublicationOrder(Check):
    id = "slot_publication_order"
    report_order = 131
    title = "The slot is not older than its publication"
    facts = (SERVER, SLOTS, PUBLICATION_AGE, PUBLICATIONS)
    why = ("Before PostgreSQL 18, pgoutput decodes each change with the catalogs as they were when it was committed: a "
           "slot created before its publication fails with 'publication \"...\" does not exist' on the first change "
           "committed before the publication, and retries at the same place forever.")
    remediation = ("Create the publication before the slot. If the slot came first, drop it and let the consumer create "
                   "it again (a new initial copy), or upgrade to PostgreSQL 18.")

    def run(self, ctx: CheckContext) -> Outcome:
        publication = consumer_publication(ctx.options)
        name = ctx.options.slot_name
        if publication is None:
            return Outcome([], f"plugin {ctx.options.plugin} reads no publication")
        if not name:
            return Outcome([], "no --slot-name: the consumer creates its slot after the publication")
        slot = next((s for s in ctx.fact(SLOTS) if s.slot_name == name and s.slot_type == "logical"
                     and s.database == ctx.fact(SERVER).database and s.plugin == "pgoutput"), None)
        if slot is None:
            return Outcome([], f"no pgoutput slot {name!r} in this database")
        row = next((r for r in ctx.fact(PUBLICATION_AGE) if r.slot_name == name and r.pubname == publication), None)
        exists = any(p.pubname == publication for p in ctx.fact(PUBLICATIONS).publications)
        if supports(ctx.version_num, SKIPS_MISSING_PUBLICATION):
            if row is not None and row.xids_between > 0:
                return Outcome([Finding(
                    code="slot_predates_publication", severity=Severity.INFO, object=name,
                    observed=f"{row.xids_between} transaction(s) before the publication",
                    message=f"Slot {name!r} is older than publication {publication!r}; PostgreSQL 18 skips the "
                            "publication for changes committed before it existed (they are not sent), so decoding "
                            "goes on.")], "18: pgoutput skips a publication that did not exist yet")
            return Outcome([], "the publication is not newer than the slot")
        if not exists:
            return Outcome([Finding(
                code="publication_after_slot", severity=Severity.WARNING, object=name, observed="no publication yet",
                expected=f"publication {publication!r} older than slot {name!r}",
                message=f"Slot {name!r} exists and publication {publication!r} does not: created now, the publication "
                        "is newer than the slot, and before PostgreSQL 18 decoding fails with 'publication "
                        f"\"{publication}\" does not exist' if any change the slot has not confirmed was committed "
                        "before it (whether one was is not visible from here).",
                remediation=fixes(name, publication))], "the slot exists before its publication")
        if row is None or row.xids_between <= 0:
            return Outcome([], "the publication is older than what the slot still decodes")
        between = f"{row.xids_between} transaction(s) wrote between the slot's catalog_xmin and the publication"
        if slot.active:
            return Outcome([Finding(
                code="slot_predates_publication", severity=Severity.WARNING, object=name, observed=between,
                message=f"Slot {name!r} is streaming now and its catalog_xmin predates publication {publication!r} "
                        f"({between}): either it has already confirmed past them (its catalog_xmin lags), or "
                        f"decoding is about to fail with 'publication \"{publication}\" does not exist'. Check the "
                        "consumer's errors.", remediation=fixes(name, publication))], between)
        if row.shares_horizon_with is not None:
            return Outcome([Finding(
                code="slot_predates_publication", severity=Severity.WARNING, object=name, observed=between,
                message=f"Slot {name!r}'s catalog_xmin predates publication {publication!r} ({between}), but slot "
                        f"{row.shares_horizon_with!r} holds a horizon as old: a slot created while it existed inherits "
                        "that horizon, so these transactions may be older than the slot (then nothing fails). If the "
                        f"slot was created before the publication, decoding fails with 'publication \"{publication}\" "
                        "does not exist' before PostgreSQL 18.", remediation=fixes(name, publication))], between)
        return Outcome([Finding(
            code="slot_predates_publication", severity=Severity.ERROR, object=name, observed=between,
            expected="no transaction before the publication",
            message=f"Slot {name!r} was created before publication {publication!r} and {between}: before PostgreSQL "
                    f"18, decoding them fails with 'publication \"{publication}\" does not exist' and the consumer "
                    "retries at the same place forever.", remediation=fixes(name, publication))], between)
