"""The subscriber CSV format: reading a file row by row into checked rows and
problems (row, column, reason), and writing rows back safely.

Columns: ``email`` and ``topics`` (slugs separated by ``;``), and optionally
``name``, ``frequency``, ``timezone``, ``hour``, ``weekday``, ``language`` (``en``,
``fr``…; empty: unchanged for a known reader, the site's for a new one). A topic may carry its
own frequency (``news;sport:weekly``), which is how the export writes a reader who
takes some topics daily and others weekly; the ``frequency`` column is the default
for the others. The export's other columns (status and dates) are read back and
ignored: they are the service's to decide, not a file's.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from digest.domain.languages import LanguageError, parse_language
from digest.domain.schedule import ScheduleError, check_hour, parse_weekday, zone
from digest.domain.text import TextError, one_line_name, text_problem
from digest.domain.zone_names import canonical_zone
from digest.services.readers.subscribers import FREQUENCIES, SubscriberError, normalise_email

REQUIRED_COLUMNS = ("email", "topics")
OPTIONAL_COLUMNS = ("name", "frequency", "timezone", "hour", "weekday", "language")
IGNORED_COLUMNS = ("status", "created_at", "confirmed_at")
EXPORT_COLUMNS = (
    "email",
    "name",
    "topics",
    "frequency",
    "timezone",
    "hour",
    "weekday",
    "language",
    *IGNORED_COLUMNS,
)
MAX_NAME = 200
# No subscriber row comes near this; a longer line is not a subscriber list, and
# reading it whole could take the memory of the file's size.
MAX_LINE = 64 * 1024
# A cell starting with one of these runs as a formula in a spreadsheet; the export
# writes it after an apostrophe, which the import takes off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportRefused(ValueError):
    """The file as a whole cannot be imported (e.g. its header lacks a column)."""


@dataclass(frozen=True)
class Problem:
    row: int  # the line of the file the row starts on; the header is line 1
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Row:
    """A row that passed validation, ready to store."""

    line: int
    email: str
    name: str | None
    topics: dict[int, str]  # topic id -> daily | weekly
    timezone: str
    hour: int
    weekday: int
    language: str | None = None  # None: the cell was empty


@dataclass
class Batch:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _cell(value: str | None) -> str:
    """A cell as the export meant it: without the apostrophe put before a formula."""
    text = value or ""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def _topics(
    raw: str, default: str, topic_ids: dict[str, int], refuse: Callable[[str, str], None]
) -> dict[int, str]:
    chosen: dict[int, str] = {}
    unknown: list[str] = []
    for part in raw.replace(",", ";").split(";"):
        slug, _, frequency = part.strip().lower().partition(":")
        if not slug:
            continue
        frequency = frequency.strip() or default
        if frequency not in FREQUENCIES:
            refuse("topics", f"{slug}: frequency must be daily or weekly (got {frequency!r})")
        elif slug not in topic_ids:
            unknown.append(slug)
        else:
            chosen[topic_ids[slug]] = frequency
    if unknown:
        refuse("topics", f"unknown topic(s): {', '.join(unknown)[:200]}")
    elif not chosen and not unknown:
        refuse("topics", "topics is empty: name at least one topic slug")
    return chosen


def check_row(
    record: dict[str, str], line: int, topic_ids: dict[str, int]
) -> tuple[Row | None, list[Problem]]:
    """The row in ``record`` checked, or every problem with it, by column."""
    problems: list[Problem] = []

    def refuse(column: str, reason: str) -> None:
        problems.append(Problem(line, column, reason))

    email = ""
    try:
        email = normalise_email(record.get("email", ""))
    except SubscriberError as exc:
        refuse("email", str(exc))
    name = None
    try:
        name = one_line_name("name", record.get("name", ""), MAX_NAME)
    except TextError as exc:
        refuse("name", str(exc))
    frequency = (record.get("frequency") or "daily").strip().lower()
    if frequency not in FREQUENCIES:
        refuse("frequency", f"frequency must be daily or weekly (got {frequency[:20]!r})")
        frequency = "daily"
    # Checked before the slugs are quoted in a problem, which the database keeps.
    problem = text_problem(record.get("topics", ""))
    topics: dict[int, str] = {}
    if problem:
        refuse("topics", f"topics {problem}")
    else:
        topics = _topics(record.get("topics", ""), frequency, topic_ids, refuse)
    timezone = (record.get("timezone") or "UTC").strip()
    try:
        zone(timezone)
        timezone = canonical_zone(timezone)
    except ScheduleError as exc:
        refuse("timezone", str(exc))
    hour = 7
    raw_hour = (record.get("hour") or "").strip()
    if raw_hour:
        try:
            hour = check_hour(int(raw_hour))
        except (ValueError, ScheduleError):
            refuse("hour", f"hour must be a whole number from 0 to 23 (got {raw_hour[:20]!r})")
    weekday = 0
    try:
        weekday = parse_weekday((record.get("weekday") or "mon").strip())
    except ScheduleError as exc:
        refuse("weekday", str(exc))
    language = None
    raw_language = (record.get("language") or "").strip()
    if raw_language:
        try:
            language = parse_language(raw_language)
        except LanguageError as exc:
            refuse("language", str(exc))
    if problems:
        return None, problems
    row = Row(line, email, name, topics, timezone, hour, weekday, language)
    return row, []


def _fingerprint(email: str) -> int:
    # Eight bytes per address seen: enough to tell duplicates apart in a file of
    # millions of rows, at a fraction of the memory the addresses would take.
    return int.from_bytes(hashlib.blake2b(email.encode(), digest_size=8).digest(), "big")


def _lines(source: IO[str]) -> Iterator[str]:
    number = 0
    while line := source.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise ImportRefused(
                f"line {number} is longer than {MAX_LINE} characters: not a subscriber list"
            )
        yield line


def read_rows(source: IO[str], topic_ids: dict[str, int], batch_size: int) -> Iterator[Batch]:
    """Check the CSV in ``source`` and hand it out in batches of good rows, each with
    the problems found since the previous batch. An address given twice is kept
    from its first row."""
    reader = csv.reader(_lines(source))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportRefused("the file is empty: the first line must name the columns") from None
    except csv.Error as exc:
        raise ImportRefused(f"the header line cannot be read: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportRefused(f"the header lacks the column(s) {', '.join(missing)}")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(IGNORED_COLUMNS)
    unknown = [h for h in header if h not in known]
    if unknown:
        named = ", ".join(h if text_problem(h) is None else repr(h) for h in unknown)
        raise ImportRefused(
            f"the header has unknown column(s) {named[:200]}; "
            f"expected {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    seen: dict[int, int] = {}
    batch = Batch()
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            batch.problems.append(Problem(line, "", f"the row cannot be read as CSV: {exc}"))
            line = reader.line_num + 1
            continue
        start, line = line, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        if len(values) != len(header):
            batch.problems.append(
                Problem(start, "", f"the row has {len(values)} values, the header {len(header)}")
            )
            continue
        record = {h: _cell(v) for h, v in zip(header, values, strict=True)}
        row, problems = check_row(record, start, topic_ids)
        if row is None:
            batch.problems.extend(problems)
            continue
        mark = _fingerprint(row.email)
        if mark in seen:
            batch.problems.append(
                Problem(start, "email", f"{row.email} is also on row {seen[mark]}, which is kept")
            )
            continue
        seen[mark] = start
        batch.rows.append(row)
        if len(batch.rows) >= batch_size:
            yield batch
            batch = Batch()
    if batch.rows or batch.problems:
        yield batch


def csv_lines(rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """``rows`` as CSV text, a line at a time, with every cell that a spreadsheet
    would run as a formula written after an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(["'" + v if v[:1] and v[0] in FORMULA_STARTS else v for v in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def problem_csv(problems: Iterable[Problem], *, header: bool = True) -> Iterator[str]:
    """The report of refused rows as CSV (row, column, reason), a line at a time."""
    if header:
        yield from csv_lines([("row", "column", "reason")])
    yield from csv_lines((str(p.row), p.column, p.reason) for p in problems)


def topics_cell(follows: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """The topics and frequency cells for a reader's (slug, frequency) pairs: the
    more common frequency in its column, the others written after their slug."""
    pairs = sorted(follows)
    weekly = sum(1 for _, f in pairs if f == "weekly")
    default = "weekly" if pairs and weekly * 2 > len(pairs) else "daily"
    cell = ";".join(slug if f == default else f"{slug}:{f}" for slug, f in pairs)
    return cell, default
