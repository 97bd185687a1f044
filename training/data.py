"""Labelled comments from files: generic CSV, TSV and JSON Lines, and the three folders of shared/data.

Every example carries a ``group``: examples of one group must land on the same side of a train/test
split (a YouTube video; an SMS message, its duplicates and its Hindi translation). Bad rows are reported
with file and line and skipped; a file with no good row is an error.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

LABELS = {"spam": 1, "1": 1, "true": 1, "ham": 0, "0": 0, "false": 0}
TEXT_COLUMNS = ("content", "comment_content", "text", "message", "comment", "body")
LABEL_COLUMNS = ("label", "class", "is_spam", "spam")
COMMENT_FIELDS = ("author", "author_email", "author_url", "user_ip", "user_agent", "referrer", "permalink", "lang")

csv.field_size_limit(16 * 1024 * 1024)


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Example:
    comment: dict  # "content" plus any optional comment fields
    label: int  # 1 spam, 0 ham
    group: str  # "<family>/<item>": examples of one group stay on one side of a split
    origin: str  # "file:line", for reports

    @property
    def family(self) -> str:
        return self.group.split("/", 1)[0]


@dataclass
class LoadReport:
    bad_rows: list[str] = field(default_factory=list)

    def bad(self, origin: str, why: str) -> None:
        self.bad_rows.append(f"{origin}: {why}")


def load(paths: Iterable[str | Path], *, text_column: str | None = None, label_column: str | None = None,
         report: LoadReport | None = None) -> list[Example]:
    """Load every path: a folder of shared/data, a folder holding such folders, or a data file."""
    report = report if report is not None else LoadReport()
    examples: list[Example] = []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        examples.extend(_load_path(path, text_column, label_column, report))
    for line in report.bad_rows[:20]:
        print(f"skipped {line}", file=sys.stderr)
    if len(report.bad_rows) > 20:
        print(f"... and {len(report.bad_rows) - 20} more bad rows", file=sys.stderr)
    if not examples:
        raise DataError("no labelled examples in " + ", ".join(map(str, paths)))
    return examples


def fingerprint(examples: list[Example]) -> str:
    """SHA-256 over the examples' labels, groups and content, in order."""
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(json.dumps([ex.label, ex.group, ex.comment], sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _load_path(path: Path, text_column, label_column, report) -> list[Example]:
    if path.is_dir():
        known = _load_shared_folder(path, report)
        if known is not None:
            return known
        out = []
        for child in sorted(path.iterdir()):
            if child.is_dir() or child.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json"):
                out.extend(_load_path(child, text_column, label_column, report))
        return out
    if path.name == "SMSSpamCollection":
        return _load_sms(path, report)
    return _load_file(path, text_column, label_column, report)


def _load_shared_folder(folder: Path, report) -> list[Example] | None:
    """The folders of shared/data, recognised by their files; None for any other folder."""
    youtube = sorted(folder.glob("Youtube0*.csv"))
    if youtube:
        out = []
        for f in youtube:
            video = f.stem.split("-", 1)[-1]
            out.extend(_load_file(f, "CONTENT", "CLASS", report, group=f"youtube/{video}",
                                  extra={"author": "AUTHOR"}))
        return out
    if (folder / "SMSSpamCollection").exists():
        return _load_sms(folder / "SMSSpamCollection", report)
    if (folder / "hindi_sms_data.csv").exists():
        return _load_hindi_sms(folder / "hindi_sms_data.csv", report)
    return None


def _label(value, origin: str, report: LoadReport) -> int | None:
    label = LABELS.get(str(value).strip().lower())
    if label is None:
        report.bad(origin, f"label {str(value)[:40]!r} is not spam/ham/1/0/true/false")
    return label


def _rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, row, error) for each record of a CSV, TSV or JSON Lines file."""
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8-sig", newline="") as f:
        if suffix in (".jsonl", ".json"):
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    yield number, None, f"not JSON ({e.msg})"
                    continue
                yield (number, row, None) if isinstance(row, dict) else (number, None, "not a JSON object")
            return
        reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
        for row in reader:
            # DictReader puts surplus cells under None and fills missing ones with None.
            if None in row or None in row.values():
                yield reader.line_num, None, "wrong number of columns"
            else:
                yield reader.line_num, row, None


def _pick(columns: Iterable[str], wanted: str | None, choices: tuple[str, ...], what: str, path: Path) -> str:
    columns = list(columns)
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{path}: no {what} column {wanted!r} (columns: {', '.join(columns)})")
        return wanted
    lower = {c.lower(): c for c in columns}
    for choice in choices:
        if choice in lower:
            return lower[choice]
    raise DataError(f"{path}: no {what} column; name one with --{what}-column (columns: {', '.join(columns)})")


def _load_file(path: Path, text_column, label_column, report, *, group: str | None = None,
               extra: dict[str, str] | None = None) -> list[Example]:
    out: list[Example] = []
    columns: tuple[str, str] | None = None
    for number, row, error in _rows(path):
        origin = f"{path}:{number}"
        if error:
            report.bad(origin, error)
            continue
        if columns is None:
            columns = (_pick(row, text_column, TEXT_COLUMNS, "text", path),
                       _pick(row, label_column, LABEL_COLUMNS, "label", path))
        text, label = row.get(columns[0]), row.get(columns[1])
        if not isinstance(text, str) or not text.strip():
            report.bad(origin, f"no text in {columns[0]!r}")
            continue
        label = _label(label, origin, report)
        if label is None:
            continue
        comment = {"content": text}
        for name, column in (extra or {name: name for name in COMMENT_FIELDS}).items():
            value = row.get(column)
            if isinstance(value, str) and value:
                comment[name] = value
        # Rows of a generic file are independent unless the file says otherwise with a "group" column.
        row_group = row.get("group")
        out.append(Example(comment, label, group or f"{path.name}/{row_group or number}", origin))
    if not out:
        raise DataError(f"{path}: no usable rows")
    return out


def _read_sms(path: Path, report) -> list[tuple[int, str, int]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            label, _, text = line.rstrip("\r\n").partition("\t")
            origin = f"{path}:{number}"
            if not text.strip():
                report.bad(origin, "no tab-separated text")
                continue
            value = _label(label, origin, report)
            if value is not None:
                rows.append((number, text, value))
    return rows


def _sms_groups(rows: list[tuple[int, str, int]], block: int = 20) -> list[str]:
    """Groups of the SMS collection: runs of ``block`` consecutive messages.

    Identical messages (the collection has about 400 repeats) join the group of their first occurrence,
    so a repeat cannot sit on the other side of a split from its twin. Blocks rather than single
    messages keep a Hindi translation with its original even where the alignment below is a row or two
    off (stretches of short ham messages with no number or Latin word left to align on).
    """
    first: dict[str, int] = {}
    return [f"sms/{first.setdefault(' '.join(text.lower().split()), i) // block}"
            for i, (_, text, _) in enumerate(rows)]


def _load_sms(path: Path, report) -> list[Example]:
    rows = _read_sms(path, report)
    groups = _sms_groups(rows)
    return [Example({"content": text}, label, group, f"{path}:{number}")
            for (number, text, label), group in zip(rows, groups)]


def _load_hindi_sms(path: Path, report) -> list[Example]:
    """The Hindi translation, each row in the group of the English message it translates.

    The translation lost two messages, so rows are matched to the English collection (expected beside
    it, as in shared/data) by aligning the two sequences on label and on the numbers and Latin words
    that the translation kept.
    """
    english_path = path.parent.parent / "sms-spam-collection" / "SMSSpamCollection"
    hindi = [(number, row["Message"], _label(row["Label"], f"{path}:{number}", report))
             for number, row, error in _rows(path) if row is not None]
    hindi = [(n, t, lab) for n, t, lab in hindi if lab is not None and t.strip()]
    if english_path.exists():
        english = _read_sms(english_path, LoadReport())
        groups = _sms_groups(english)
        match = align(english, hindi)
        hindi_groups = [groups[match[j]] if j in match else f"sms-hi/{j}" for j in range(len(hindi))]
    else:
        print(f"warning: {english_path} is missing; Hindi SMS rows are grouped on their own, so a "
              "split may put a message and its translation on both sides", file=sys.stderr)
        hindi_groups = [f"sms-hi/{j}" for j in range(len(hindi))]
    return [Example({"content": text, "lang": "hi"}, label, group, f"{path}:{number}")
            for (number, text, label), group in zip(hindi, hindi_groups)]


_KEPT = re.compile(r"\d{2,}|[a-z]{3,}")


def align(english: list[tuple[int, str, int]], hindi: list[tuple[int, str, int]], band: int = 25) -> dict[int, int]:
    """Map Hindi row index to English row index by a banded global alignment (Needleman-Wunsch).

    A pair scores 1 plus the overlap of numbers and Latin words kept by the translation, and cannot
    pair across labels; skipping a row costs 1. Rows dropped from one side fall out as gaps.
    """
    def kept(text: str) -> set[str]:
        return set(_KEPT.findall(text.lower()))

    en_tokens = [kept(t) for _, t, _ in english]
    hi_tokens = [kept(t) for _, t, _ in hindi]
    n, m = len(english), len(hindi)
    neg = float("-inf")
    score: dict[tuple[int, int], float] = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        for j in range(max(0, i - band), min(m, i + band) + 1):
            if i == j == 0:
                continue
            best, arg = neg, None
            if i > 0 and j > 0 and (i - 1, j - 1) in score and english[i - 1][2] == hindi[j - 1][2]:
                a, b = en_tokens[i - 1], hi_tokens[j - 1]
                pair = 1.0 + (len(a & b) / len(a | b) if a | b else 0.0)
                best, arg = score[(i - 1, j - 1)] + pair, (i - 1, j - 1)
            for prev in ((i - 1, j), (i, j - 1)):
                if prev in score and score[prev] - 1.0 > best:
                    best, arg = score[prev] - 1.0, prev
            if arg is not None:
                score[(i, j)] = best
                back[(i, j)] = arg
    match, cell = {}, (n, m)
    while cell in back:
        prev = back[cell]
        if prev == (cell[0] - 1, cell[1] - 1):
            match[cell[1] - 1] = cell[0] - 1
        cell = prev
    return match
