"""The estate report (``pg-preflight merge``): one row per server, in table, markdown, json and html.

Server names come from report file names and every other cell from the servers' reports: all of it
is hostile and goes through each medium's own escaping (``visible`` on a terminal, the markdown
``text``/``code`` helpers, ``html.escape``). Links to each server's own report are relative paths,
percent-encoded, so no name can become another scheme (``javascript:``) or break out of the link.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tabulate import tabulate

from preflight.models import VERDICT_WORDS, Estate, EstateServer, Verdict
from preflight.reports.html import DOCS, PAGE, SCRIPT, SCRIPT_HASH, STYLE, e, html_table, status_badge
from preflight.reports.markdown import code, text
from preflight.terminal import json_visible, visible

HEAD = ["server", "verdict", "failing checks", "provider", "version", "slot risk", "report"]
VERDICT_CLASS = {Verdict.READY: "pass", Verdict.INCOMPLETE: "error", Verdict.NOT_READY: "fail"}
VERDICT_SORT = {Verdict.NOT_READY: 0, Verdict.INCOMPLETE: 1, Verdict.READY: 2}


def href(path: str) -> str:
    """A relative link to ``path``: percent-encoded, and starting with ``./`` or ``../``."""
    encoded = quote(path)
    return encoded if encoded.startswith("../") else "./" + encoded


def headline(estate: Estate) -> str:
    counts = estate.counts()
    return (f"{counts[Verdict.READY]} of {len(estate.servers)} servers ready, {counts[Verdict.NOT_READY]} not ready, "
            f"{counts[Verdict.INCOMPLETE]} incomplete")


def worst(estate: Estate) -> Verdict:
    return min((s.verdict for s in estate.servers), key=VERDICT_SORT.__getitem__, default=Verdict.READY)


def render_table(estate: Estate) -> str:
    rows = [[visible(cell, keep="") for cell in (s.name, s.verdict.value, ", ".join(s.failing_checks) or "-",
                                                 s.provider or "-", s.version(), s.slot_risk.describe(), s.report)]
            for s in estate.servers]
    lines = [f"pg-preflight estate: {headline(estate)}", ""]
    lines += tabulate(rows, headers=HEAD, tablefmt="plain").splitlines()
    return "\n".join(lines) + "\n"


def _md_row(s: EstateServer) -> str:
    failing = ", ".join(code(c, in_table=True) for c in s.failing_checks) or "-"
    links = [f"[json]({href(s.report)})"] + ([f"[html]({href(s.html_report)})"] if s.html_report else [])
    cells = [code(s.name, in_table=True), VERDICT_WORDS[s.verdict.value], failing, text(s.provider or "-"),
             text(s.version()), text(s.slot_risk.describe()), " ".join(links)]
    return "| " + " | ".join(cells) + " |"


def render_markdown(estate: Estate) -> str:
    lines = [f"## pg-preflight estate: {VERDICT_WORDS[worst(estate).value]}", "", f"**{text(headline(estate))}**", "",
             f"- Generated: {text(estate.generated_at.isoformat())} by pg-preflight {text(estate.tool.version)}", "",
             "| " + " | ".join(h.capitalize() for h in HEAD) + " |", "|" + " --- |" * len(HEAD)]
    lines += [_md_row(s) for s in estate.servers]
    return "\n".join(lines) + "\n"


def render_json(estate: Estate) -> str:
    return json_visible(estate.to_json()) + "\n"


def _html_row(s: EstateServer) -> list[str]:
    links = [f'<a href="{e(href(s.html_report))}">html</a>'] if s.html_report else []
    links.append(f'<a href="{e(href(s.report))}">json</a>')
    risk = s.slot_risk
    rank = risk.rank()
    risk_key = rank[0] * 10**16 + rank[1] * 10**15 + min(rank[2], 10**15 - 1)
    return [f"<code>{e(s.name)}</code>",
            status_badge(VERDICT_WORDS[s.verdict.value], VERDICT_CLASS[s.verdict], VERDICT_SORT[s.verdict]),
            ", ".join(f"<code>{e(c)}</code>" for c in s.failing_checks) or "-", e(s.provider or "-"),
            f'<span data-sort="{e(".".join(f"{int(p):04d}" for p in s.version().split(".") if p.isdigit()))}">'
            f"{e(s.version())}</span>",
            f'<span data-sort="{risk_key}">{e(risk.describe())}</span>', " ".join(links)]


def render_html(estate: Estate) -> str:
    head = [h.capitalize() for h in HEAD]
    body = (f'<h2 id="servers">Servers ({len(estate.servers)})</h2>\n<p class="muted noprint">Click a column to sort; '
            "each server links to its own report.</p>\n" + html_table(head, [_html_row(s) for s in estate.servers]))
    verdict = worst(estate)
    return PAGE.substitute(
        script_hash=SCRIPT_HASH, verdict=e(f"estate: {VERDICT_WORDS[verdict.value]}"), verdict_class=e(verdict.value),
        dsn=e(f"{len(estate.servers)} servers"), style=STYLE, counts=e(headline(estate)), body=body,
        docs=DOCS, script=SCRIPT,
        generated=e(estate.generated_at.isoformat()), version=e(estate.tool.version),
    )


ESTATE_FORMATS: dict[str, Callable[[Estate], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
    "html": render_html,
}
