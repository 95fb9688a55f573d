"""What each PostgreSQL version has, where checks and facts must agree (one table per feature)."""

from __future__ import annotations

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
    return since is not None and version_num >= since
