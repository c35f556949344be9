"""3W spreadsheets (who does what, where, when) tagged with HXL hashtags: reading and writing.

Pure file handling, no database: :func:`read_3w` turns the bytes of a CSV or XLSX file
into :class:`Record` objects (one per data row, values still text), :func:`write_csv`
and :func:`write_xlsx` turn plain rows back into a file in the same template.

Columns are found by their HXL hashtag, not by their header or position: libhxl looks
for the row of hashtags (under the header row, or instead of it) in the first 25 rows,
and a column belongs to a field when it matches the field's tag pattern, attributes in
any order (``#org +impl`` and ``#org+lead+impl`` are both the lead organisation).

What a hostile or broken file gets is one clear :class:`ThreeWFileError` before any
row is read: a file over :data:`MAX_FILE_BYTES`, a type we do not read (old ``.xls``,
PDF, a zip that is no workbook), text in none of UTF-8 (with or without BOM),
UTF-16 or Windows-1252, a workbook that would unpack too large, too many rows, or no
hashtag row. XLSX files are read with openpyxl in read-only mode (formulas are read as
their text, never evaluated; no external links are followed).

Every text cell we write goes through :func:`escape_cell`, which neutralises formula
triggers as OWASP advises (:mod:`coordination.interop.safe_cells`); reading undoes
exactly that escape, so an export reads back to the same values.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import hxl.model
import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from coordination.errors import ValidationError
from coordination.interop.safe_cells import TRIGGERS, neutralise

__all__ = [
    "FIELDS",
    "Field",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "Record",
    "SEPARATOR",
    "TEMPLATE_ROWS",
    "ThreeWFile",
    "ThreeWFileError",
    "decode_text",
    "escape_cell",
    "read_3w",
    "sniff_format",
    "unescape_cell",
    "write_csv",
    "write_xlsx",
]

# libhxl logs malformed hashtags through the logging module; without a handler of its
# own Python's last-resort handler would print them on stderr in the middle of our output.
logging.getLogger("hxl").addHandler(logging.NullHandler())

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # an XLSX is a zip: refuse zip bombs before opening
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell
SEPARATOR = "|"
TAG_ROW_SEARCH = 25  # libhxl looks for the hashtag row in this many rows


class ThreeWFileError(ValidationError):
    """The file as a whole cannot be read (type, size, encoding, no hashtags, columns)."""

    def __init__(self, message: str) -> None:
        super().__init__({"": message})


@dataclass(frozen=True)
class Field:
    """One field of the 3W template: its hashtag pattern and how it is written."""

    name: str
    hashtag: str  # the tag we write, also the pattern we match (attributes in any order)
    header: str
    multiple: bool = False  # several values, "|"-separated; repeated columns add up
    required: bool = False

    @property
    def pattern(self) -> hxl.model.TagPattern:
        return hxl.model.TagPattern.parse(self.hashtag)


# Order is the template's column order. Where two patterns could match one column, the
# more specific one comes first (a column is claimed by the first field it matches).
FIELDS: tuple[Field, ...] = (
    Field("code", "#activity+code", "Activity code"),
    Field("title", "#activity+name", "Activity", required=True),
    Field("type", "#activity+type", "Type", required=True),
    Field("description", "#description", "Description"),
    Field("lead", "#org+impl", "Lead organisation", required=True),
    Field("partners", "#org+partner", "Partner organisations", multiple=True),
    Field("funders", "#org+funder", "Funders", multiple=True),
    Field("accountable", "#org+accountable", "Accountable organisations", multiple=True),
    Field("extending", "#org+extending", "Extending organisations", multiple=True),
    Field("themes", "#sector", "Themes", multiple=True, required=True),
    Field("target_groups", "#beneficiary", "Target groups", multiple=True),
    Field("country_code", "#country+code", "Country code", multiple=True),
    Field("country_name", "#country+name", "Country", multiple=True),
    Field("adm1_code", "#adm1+code", "Admin 1 code", multiple=True),
    Field("adm1_name", "#adm1+name", "Admin 1", multiple=True),
    Field("start", "#date+start", "Start date", required=True),
    Field("end", "#date+end", "End date"),
    Field("status", "#status", "Status"),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


@dataclass
class Record:
    """One data row: its row number as a spreadsheet shows it and its values by field.

    Single fields hold a string ("" when blank); multiple fields a list of strings.
    ``columns`` names, per field, the spreadsheet column(s) it came from ("E #org+impl").
    """

    row: int
    values: dict[str, Any]


@dataclass
class ThreeWFile:
    format: str  # "csv" or "xlsx"
    encoding: str | None  # for CSV: the encoding the text was in
    columns: dict[str, str]  # field name -> "C #org+impl" (for reports)
    records: list[Record] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # tagged, but not ours

    def has(self, name: str) -> bool:
        return name in self.columns


#: the two example rows of the template that ships in docs/ and the admin
TEMPLATE_ROWS: tuple[dict[str, Any], ...] = (
    {
        "code": "EXAMPLE-01",
        "title": "Women's leadership and anti-harassment training for women workers",
        "type": "training",
        "description": "Five-day course for elected women worker representatives",
        "lead": "BGMEA",
        "partners": ["AWAJ", "CARE-BD"],
        "funders": ["Sida"],
        "themes": ["Gender equality"],
        "target_groups": ["Women workers", "Factory managers"],
        "country_code": ["BD", "BD"],
        "country_name": ["Bangladesh", "Bangladesh"],
        "adm1_code": ["BD-C", "BD-B"],
        "adm1_name": ["Dhaka", "Chattogram"],
        "start": date(2025, 3, 1),
        "end": date(2025, 5, 31),
        "status": "implementation",
    },
    {
        "code": "",
        "title": "Social dialogue platform for the garment sector",
        "type": "social_dialogue",
        "lead": "ILO",
        "funders": ["Sida"],
        "themes": ["Social dialogue and industrial relations"],
        "target_groups": ["Employers' organisations", "Workers' organisations"],
        "country_code": ["KH"],
        "country_name": ["Cambodia"],
        "start": date(2024, 1, 1),
        "status": "implementation",
    },
)


# --------------------------------------------------------------------------- cells


def escape_cell(text: str) -> str:
    """Text safe to put in a spreadsheet cell, reversible by :func:`unescape_cell`.

    A leading formula trigger gets an apostrophe (OWASP); so does text that already
    starts with apostrophes before a trigger, so that reading it back is exact.

    >>> escape_cell("=1+1"), escape_cell("'=1+1"), escape_cell("Dhaka")
    ("'=1+1", "''=1+1", 'Dhaka')
    """
    if text.lstrip("'").startswith(TRIGGERS) and not text.startswith(TRIGGERS):
        return "'" + text
    return neutralise(text)


def unescape_cell(text: str) -> str:
    """Undo :func:`escape_cell`: drop one apostrophe that guards a formula trigger.

    >>> unescape_cell("'=1+1"), unescape_cell("''=1+1"), unescape_cell("'quoted'")
    ('=1+1', "'=1+1", "'quoted'")
    """
    if text.startswith("'") and text.lstrip("'").startswith(TRIGGERS):
        return text[1:]
    return text


# --------------------------------------------------------------------------- reading


def sniff_format(data: bytes, filename: str | None = None) -> str:
    """``"csv"`` or ``"xlsx"`` from the content, checked against the file name's extension."""
    name = (filename or "").lower()
    extension = name.rpartition(".")[2] if "." in name else ""
    if extension and extension not in ("csv", "xlsx", "txt"):
        raise ThreeWFileError(
            f"{filename} is a .{extension} file; a 3W import reads CSV (.csv) or Excel (.xlsx) files"
        )
    if data.startswith(b"PK\x03\x04"):
        kind = "xlsx"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ThreeWFileError(
            "this is an old Excel (.xls) or other OLE file; save it as .xlsx or CSV first"
        )
    elif data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z")):
        raise ThreeWFileError("this is not a spreadsheet; a 3W import reads CSV or XLSX files")
    else:
        kind = "csv"
    if extension == "xlsx" and kind != "xlsx":
        raise ThreeWFileError(f"{filename} is named .xlsx but is not an Excel workbook")
    if extension in ("csv", "txt") and kind != "csv":
        raise ThreeWFileError(f"{filename} is named .{extension} but is an Excel workbook or zip")
    return kind


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, UTF-16 (BOM), else Windows-1252.

    >>> decode_text("Hà Nội".encode("utf-8-sig"))
    ('Hà Nội', 'utf-8-sig')
    >>> decode_text("Café".encode("cp1252"))
    ('Café', 'cp1252')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif _looks_like_bomless_utf16(data):
        candidates = ["utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ThreeWFileError("the file holds binary data (NUL characters); it is not a CSV")
        return text, encoding
    raise ThreeWFileError(
        "the text is in none of the encodings we read (UTF-8, UTF-16, Windows-1252); "
        "save the CSV as UTF-8"
    )


def _looks_like_bomless_utf16(data: bytes) -> bool:
    sample = data[:200]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) // 2
    return max(zeros_even, zeros_odd) > half * 0.6 and min(zeros_even, zeros_odd) == 0


def _csv_rows(data: bytes) -> tuple[list[list[str]], str]:
    text, encoding = decode_text(data)
    delimiter = _delimiter(text)
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        for row in reader:
            _check_row(row, reader.line_num, len(rows))
            rows.append(row)
    except csv.Error as error:
        raise ThreeWFileError(f"line {reader.line_num}: not valid CSV ({error})") from None
    return rows, encoding


def _delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab: whichever splits out the most hashtags.

    csv.Sniffer guesses from character counts and is fooled by quoted text with
    semicolons in it; the hashtag row tells us the truth.
    """
    best, best_score = ",", 0
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text[:65536], newline=""), csv.excel, delimiter=delimiter)
        score = 0
        try:
            for _n, row in zip(range(TAG_ROW_SEARCH), reader, strict=False):
                score = max(score, sum(1 for cell in row if cell.strip().startswith("#")))
        except csv.Error:
            continue
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _check_row(row: Sequence[Any], line: int, count: int) -> None:
    if count >= MAX_ROWS + TAG_ROW_SEARCH:
        raise ThreeWFileError(f"the file has more than {MAX_ROWS:,} rows; split it")
    if len(row) > MAX_COLUMNS:
        raise ThreeWFileError(f"row {line} has {len(row)} columns; the limit is {MAX_COLUMNS}")


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise ThreeWFileError("the workbook is damaged (not a valid zip file)") from None
    if "xl/workbook.xml" not in names:
        raise ThreeWFileError("this zip file is not an Excel workbook (.xlsx)")
    if unpacked > MAX_UNPACKED_BYTES:
        raise ThreeWFileError(
            f"the workbook would unpack to {unpacked / 1e6:,.0f} MB; "
            f"the limit is {MAX_UNPACKED_BYTES / 1e6:,.0f} MB"
        )
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception as error:  # openpyxl raises many types for broken workbooks
        raise ThreeWFileError(f"the workbook cannot be read: {error}") from None
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[str]] = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            values = list(row)
            while values and values[-1] is None:
                values.pop()
            _check_row(values, number, len(rows))
            rows.append([_xlsx_cell(v) for v in values])
    finally:
        workbook.close()
    return rows


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def _split_aligned(value: str) -> list[str]:
    """Place lists line up by position ("BD|KH" with "|KH-12"), so blanks are kept."""
    return [part.strip() for part in value.split(SEPARATOR)] if value.strip() else []


#: place fields are aligned by position; a blank entry means "no area" (the whole country)
ALIGNED = frozenset({"country_code", "country_name", "adm1_code", "adm1_name"})


def _find_tag_row(rows: list[list[str]]) -> tuple[int, list[hxl.model.Column]]:
    """The index of the hashtag row and its columns, as libhxl's reader finds them.

    Each of the first rows is offered to libhxl's own row parser
    (:meth:`hxl.model.Column.parse_list`), with the row above as its headers.
    """
    previous: list[str] = []
    for index, row in enumerate(rows[:TAG_ROW_SEARCH]):
        columns = hxl.model.Column.parse_list(row, previous)
        if columns is not None:
            return index, columns
        previous = row
    raise ThreeWFileError(
        f"no row of HXL hashtags (#org+impl, #sector...) in the first {TAG_ROW_SEARCH} rows; "
        "see the 3W template"
    )


def read_3w(data: bytes, filename: str | None = None) -> ThreeWFile:
    """Parse a 3W file into records; file-level problems raise :class:`ThreeWFileError`.

    Row-level problems (an unknown theme, a bad date) are not checked here: the import
    service resolves the values and reports each row.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ThreeWFileError(
            f"the file is {len(data) / 1e6:,.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:,.0f} MB"
        )
    if not data.strip():
        raise ThreeWFileError("the file is empty")
    kind = sniff_format(data, filename)
    encoding: str | None = None
    if kind == "xlsx":
        raw_rows = _xlsx_rows(data)
    else:
        raw_rows, encoding = _csv_rows(data)

    tag_row, columns = _find_tag_row(raw_rows)
    positions: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    ignored = []
    for index, column in enumerate(columns):
        if not column.tag:
            continue
        spec = f"{get_column_letter(index + 1)} {column.display_tag}"
        match = next((f for f in FIELDS if f.pattern.match(column)), None)
        if match is None:
            ignored.append(spec)
            continue
        if match.name in positions and not match.multiple:
            raise ThreeWFileError(
                f"two columns are tagged {match.hashtag}: {labels[match.name]} and {spec}"
            )
        positions.setdefault(match.name, []).append(index)
        labels[match.name] = f"{labels[match.name]}, {spec}" if match.name in labels else spec
    missing = [f.hashtag for f in FIELDS if f.required and f.name not in positions]
    if missing:
        raise ThreeWFileError(f"required column(s) missing: {', '.join(missing)}")

    result = ThreeWFile(kind, encoding, labels, ignored_columns=ignored)
    plan = [
        (
            name,
            indexes,
            FIELDS_BY_NAME[name].multiple,
            _split_aligned if name in ALIGNED else _split,
        )
        for name, indexes in positions.items()
    ]
    for number, values in enumerate(raw_rows[tag_row + 1 :], start=tag_row + 2):
        if not any(v.strip() for v in values):
            continue
        width = len(values)
        record: dict[str, Any] = {}
        for name, indexes, multiple, split in plan:
            cells = [unescape_cell(values[i].strip()) if i < width else "" for i in indexes]
            for cell in cells:
                if len(cell) > MAX_CELL_CHARS:
                    raise ThreeWFileError(
                        f"row {number}: a cell holds {len(cell):,} characters; "
                        f"the limit is {MAX_CELL_CHARS:,}"
                    )
            if multiple:
                record[name] = [part for cell in cells for part in split(cell)]
            else:
                record[name] = cells[0]
        result.records.append(Record(number, record))
    if len(result.records) > MAX_ROWS:
        raise ThreeWFileError(
            f"the file has {len(result.records):,} rows; the limit is {MAX_ROWS:,}"
        )
    return result


# --------------------------------------------------------------------------- writing


def _text(value: Any, xml: bool) -> Any:
    """A cell value: lists joined, dates kept (XLSX types them), text escaped.

    For XLSX, control characters XML cannot hold are dropped first, so that the
    escape sees the text as it will be stored.
    """
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = SEPARATOR.join(str(v) for v in value)
    if isinstance(value, date):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value)) if xml else str(value)
    return escape_cell(text)


def _rows(rows: Iterable[dict[str, Any]], xml: bool = False) -> Iterator[list[Any]]:
    yield [escape_cell(f.header) for f in FIELDS]
    yield [f.hashtag for f in FIELDS]
    for row in rows:
        yield [_text(row.get(f.name), xml) for f in FIELDS]


def write_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """The 3W template as CSV: UTF-8 with a BOM (so Excel reads accents right), CRLF lines."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for values in _rows(rows):
        writer.writerow(v.isoformat() if isinstance(v, date) else v for v in values)
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(rows: Iterable[dict[str, Any]]) -> bytes:
    """The 3W template as XLSX: header row, hashtag row, one row per intervention.

    Dates are real date cells; every text cell is escaped (no cell starts a formula).
    Control characters other than tab and line breaks are dropped (XML cannot hold them).
    """
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("3W")
    sheet.freeze_panes = "A3"
    for index, f in enumerate(FIELDS, start=1):
        width = 40 if f.name in ("title", "description") else 18
        sheet.column_dimensions[get_column_letter(index)].width = width
    for values in _rows(rows, xml=True):
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
