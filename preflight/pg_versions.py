"""What each PostgreSQL version has, named once: checks, facts (their SQL) and reports test a feature by
name (``supports(version_num, FAILOVER_SLOTS)``), never by a bare ``server_version_num >= N``."""

from __future__ import annotations

# The first server_version_num with each feature.
PGOUTPUT = 100000  # logical replication built in: pgoutput, publications, pg_sequence
JIT = 110000  # the jit setting (SET LOCAL jit = off)
GENERATED_COLUMNS = 120000  # pg_attribute.attgenerated
MATERIALIZED_CTE = 120000  # WITH ... AS MATERIALIZED
PARTITION_TREE = 120000  # pg_partition_tree()
PARTITIONED_PUBLICATION = 130000  # a partitioned table in a publication; publish_via_partition_root
SLOT_WAL_STATUS = 130000  # pg_replication_slots.wal_status / safe_wal_size (max_slot_wal_keep_size)
PG_CURRENT_SNAPSHOT = 130000  # pg_current_snapshot() (txid_current_snapshot() before)
STREAMING_IN_PROGRESS = 140000  # logical decoding streams large in-progress transactions
SLOT_STATISTICS = 140000  # pg_stat_replication_slots (spills); pg_replication_slots.two_phase
PG_STAT_WAL = 140000  # pg_stat_wal
IDLE_SESSION_TIMEOUT = 140000  # idle_session_timeout
PG_READ_ALL_DATA = 140000  # the predefined role pg_read_all_data
PUBLICATION_COLUMN_LISTS = 150000  # column lists and row filters of a publication's tables
DECODING_ON_STANDBY = 160000  # logical decoding (slots) on a standby; pg_replication_slots.conflicting
PUBLICATION_TABLES_VARIADIC = 160000  # pg_get_publication_tables(VARIADIC text[]) lists every column itself
HBA_RULE_NUMBER = 160000  # pg_hba_file_rules.rule_number / file_name (include files)
RESERVED_CONNECTIONS = 160000  # reserved_connections and pg_use_reserved_connections
FAILOVER_SLOTS = 170000  # failover slots (synchronized to standbys), slot inactive_since / invalidation_reason
TRANSACTION_TIMEOUT = 170000  # transaction_timeout
PUBLISH_GENERATED_COLUMNS = 180000  # publish_generated_columns: stored generated columns can be published
SKIPS_MISSING_PUBLICATION = 180000  # a slot's decoding skips a publication created after it instead of failing


def supports(version_num: int, feature: int) -> bool:
    """Does a server of ``version_num`` have ``feature`` (one of the names above)?"""
    return version_num >= feature


# First minor release of each major observed with ``output_plugin_libraries`` (an allow-list of the
# output plugins slot creation may load). Majors after the newest listed one have it from their first
# release; 14 and older never do.
OUTPUT_PLUGIN_LIBRARIES_SINCE = {15: 150019, 16: 160015, 17: 170011, 18: 180006}


def has_output_plugin_libraries(version_num: int) -> bool:
    """Does this server version have ``output_plugin_libraries`` (as far as observed)?"""
    major = version_num // 10000
    if major > max(OUTPUT_PLUGIN_LIBRARIES_SINCE):
        return True
    since = OUTPUT_PLUGIN_LIBRARIES_SINCE.get(major)
    return since is not None and supports(version_num, since)
