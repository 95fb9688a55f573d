"""The rules that keep server text inert: U& escapes in SQL, visible escapes on terminals and in every
report format, Markdown that cannot mention or link, and undecodable bytes kept visibly."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from psycopg import sql

from preflight.models import Report, TableEntry
from preflight.reports import FORMATS, markdown
from preflight.reports.sql import remediation_lines
from preflight.sqltext import Template, render
from preflight.statements import as_statement
from preflight.terminal import decode, json_visible, undecodable, visible
from tests.canned import canned_report
from tests.test_hostile_names_servers import HOSTILE

NON_PRINTABLE = ["payroll\x7f", "payroll\x1b[m", "pay\u202eroll", "cr\rname", "lf\nname", "c1\x9bname",
                 "zero\u200bwidth", "line\u2028sep", "nbsp\u00a0name", "tag\U000e0041", "bell\x07"]


@pytest.mark.parametrize("name", [n for n in HOSTILE if n.isprintable()])
def test_printable_names_are_quoted_exactly_as_psycopg_quotes_them(name: str) -> None:
    statement = sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL;").format(sql.Identifier(name, name))
    assert render(statement) == statement.as_string(None)


@pytest.mark.parametrize("name", NON_PRINTABLE)
def test_non_printable_names_are_written_in_unicode_escape_form(name: str) -> None:
    text = render(sql.SQL("GRANT USAGE ON SCHEMA {} TO x;").format(sql.Identifier(name)))
    assert text.isprintable() and text.startswith('GRANT USAGE ON SCHEMA U&"')


def test_unicode_escape_form_details() -> None:
    def ident(*parts: str) -> str:
        return render(sql.Identifier(*parts))

    assert ident("payroll\x7f") == 'U&"payroll\\007F"'
    assert ident('a"b\\c\x1b') == 'U&"a""b\\\\c\\001B"'  # quotes doubled, the escape character doubled
    assert ident("tag\U000e0041") == 'U&"tag\\+0E0041"'
    assert ident("public", "x\x7f") == '"public".U&"x\\007F"'
    assert render(sql.Literal("it's\x1b")) == "U&'it''s\\001B'"
    assert render(sql.Literal("a\\b")) == sql.Literal("a\\b").as_string(None)  # printable: psycopg's form
    # U& directly after a word character would read as an identifier and the & operator
    assert render(sql.SQL("x{}").format(sql.Identifier("\x01"))) == 'x U&"\\0001"'


@pytest.mark.parametrize("name", [*HOSTILE, *NON_PRINTABLE, decode(b"bad\xff\xfename")])
def test_a_template_writes_what_render_writes_for_the_same_statement(name: str) -> None:
    """``Template`` is the fast path for per-table statements: byte for byte ``render`` of the same composition,
    U& spacing after a word character and the comment for an unwritable name included."""
    names = [("public", name), (name, "t"), (name, name)]
    listed = Template("CREATE PUBLICATION {} FOR TABLE {};").render(name, list(names))
    assert listed == render(sql.SQL("CREATE PUBLICATION {} FOR TABLE {};").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Identifier(*n) for n in names)))
    glued = Template("ALTER TABLE x{} RENAME TO {}y;").render((name, "t"), name)
    assert glued == render(sql.SQL("ALTER TABLE x{} RENAME TO {}y;").format(sql.Identifier(name, "t"), sql.Identifier(name)))
    with pytest.raises(TypeError):
        Template("DROP TABLE {};").render("a", "b")


def test_a_name_with_undecodable_bytes_gets_a_comment_instead_of_sql() -> None:
    name = decode(b"bad\xff\xfename")
    assert undecodable(name) and visible(name) == "bad\\xff\\xfename"
    text = render(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL;").format(sql.Identifier("public", name)))
    assert text.startswith("-- not written: the name bad\\xff\\xfename ") and "\n" not in text
    assert render(sql.Literal(name)).startswith("-- not written")
    assert decode("é".encode()) == "é" and not undecodable("é")


def test_visible_escapes_every_non_printable_character_and_nothing_else() -> None:
    assert visible("plain Ünïcode 日本語 a\\b") == "plain Ünïcode 日本語 a\\b"
    assert visible("a\x1b[2Jb\x7f\x9b\u202e\U000e0041\n") == "a\\x1b[2Jb\\x7f\\x9b\\u202e\\U000e0041\n"
    assert visible("a\nb", keep="") == "a\\x0ab"
    assert visible("tab\there\r") == "tab\\x09here\\x0d"


@pytest.mark.parametrize("value", [{"name": n} for n in NON_PRINTABLE] + [{"k\u202e": ["x\U000e0041", 1]}])
def test_json_visible_is_the_same_document_and_printable(value: object) -> None:
    text = json_visible(json.dumps(value, indent=2, ensure_ascii=False))
    assert all(line.isprintable() for line in text.split("\n"))
    assert json.loads(text) == value


def _hostile_names_report() -> Report:
    """The canned report with a look-alike name wherever a name or a server message goes."""
    report = canned_report()
    names = NON_PRINTABLE + ["@octocat", "[x](https://evil.example)", "![i](http://e/x.png)", "<b>bold</b>",
                             "www.evil.example", "a`b``c", "ok@mail.example"]
    findings = report.check("logical_replication").findings
    findings[1] = replace(findings[1], object="public." + names[1])
    slots = report.check("existing_slots").findings
    slots[0] = replace(slots[0], object=names[2])
    for name in names:
        report.tables.append(TableEntry(schema="public", name=name, kind="table", persistence="permanent",
                                        has_primary_key=False, replica_identity="default", status="needs_decision"))
    report.check("grants").error = "ERROR: " + " ".join(names)
    findings[0] = replace(findings[0], message="from " + " ".join(names))
    return report


def _printable(text: str) -> bool:
    return all(line.isprintable() for line in text.split("\n"))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_printable_with_hostile_names(fmt: str) -> None:
    assert _printable(FORMATS[fmt](_hostile_names_report()))


def test_markdown_text_cannot_mention_link_embed_or_inject() -> None:
    text = FORMATS["markdown"](_hostile_names_report())
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", text.split("### Remediation script")[0])  # escaped: literal
    prose = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", unescaped)  # code spans: literal
    for needle in ("@", "://", "www.", "<b>", "](", "!["):
        assert needle not in prose, needle
    assert "`public.payroll\\x1b[m`" in text  # names in code spans, visibly escaped
    assert markdown.code("a`b``c") == "```a`b``c```"


def test_junit_is_valid_xml_and_keeps_control_characters_visible() -> None:
    text = FORMATS["junit"](_hostile_names_report())
    root = ET.fromstring(text)
    bodies = "\n".join((e.text or "") + " ".join(e.attrib.values()) for e in root.iter())
    assert "payroll\\x1b[m" in bodies and "pay\\u202eroll" in bodies and "payroll\\x7f" in bodies


def test_html_shows_names_escaped_and_runs_no_script_of_theirs() -> None:
    text = FORMATS["html"](_hostile_names_report())
    seen: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            seen.append(tag)

        def handle_data(self, data: str) -> None:
            seen.append(data)

    Collect().feed(text)
    assert "b" not in seen  # <b>bold</b> stayed text
    assert any("public.pay\\u202eroll" in s for s in seen)


def test_the_script_is_printable_and_a_plugins_non_printable_statement_is_not_printed() -> None:
    report = canned_report()
    findings = report.check("logical_replication").findings
    findings[0] = replace(findings[0], message="line one\nline two\x1b[31m",
                          remediation=replace(findings[0].remediation, sql=[as_statement("ALTER TABLE x\x1b[2J RENAME TO y;")]))
    lines = remediation_lines(report)
    assert all(line.isprintable() for line in lines)
    assert "-- not printed, it holds non-printable characters: ALTER TABLE x\\x1b[2J RENAME TO y;" in lines
    assert "--   line two\\x1b[31m" in lines
