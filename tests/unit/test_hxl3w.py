"""The 3W file layer: hashtag columns, encodings, hostile files, safe and reversible cells."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.interop import hxl3w
from coordination.interop.hxl3w import (
    FIELDS,
    ThreeWFileError,
    decode_text,
    escape_cell,
    read_3w,
    unescape_cell,
    write_csv,
    write_xlsx,
)
from coordination.interop.safe_cells import TRIGGERS

HEADER = "Lead,Activity,Type,Sector,Start,Country\n"
TAGS = "#org+impl,#activity+name,#activity+type,#sector,#date+start,#country+code\n"
ROW = "ILO,Training of inspectors,training,Gender equality,2025-01-01,BD\n"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def test_tag_row_under_the_header_row():
    parsed = read_3w(csv_bytes(HEADER + TAGS + ROW), "x.csv")
    assert parsed.format == "csv"
    (record,) = parsed.records
    assert record.row == 3
    assert record.values["lead"] == "ILO"
    assert record.values["themes"] == ["Gender equality"]
    assert record.values["country_code"] == ["BD"]
    assert parsed.columns["lead"] == "A #org+impl"


def test_tag_row_instead_of_a_header_and_attributes_in_any_order():
    tags = "#activity +type,#org+lead+impl,#date+start,#sector+theme,#activity+name\n"
    row = "training,ILO,2025-01-01,Gender equality|Productivity,Training\n"
    parsed = read_3w(csv_bytes(tags + row), "x.csv")
    values = parsed.records[0].values
    assert values["type"] == "training"
    assert values["lead"] == "ILO"
    assert values["themes"] == ["Gender equality", "Productivity"]
    assert parsed.records[0].row == 2


def test_tag_row_further_down_and_unknown_tags_are_listed_not_used():
    text = "Our 3W, December\n\n" + HEADER.rstrip() + ",Notes\n" + TAGS.rstrip() + ",#meta+note\n"
    parsed = read_3w(csv_bytes(text + ROW.rstrip() + ",hello\n"), "x.csv")
    assert parsed.ignored_columns == ["G #meta+note"]
    assert parsed.records[0].row == 5


def test_repeated_columns_add_up_for_lists_and_are_refused_for_single_values():
    tags = TAGS.rstrip() + ",#org+partner,#org+partner\n"
    parsed = read_3w(csv_bytes(tags + ROW.rstrip() + ",A|B,C\n"), "x.csv")
    assert parsed.records[0].values["partners"] == ["A", "B", "C"]
    with pytest.raises(ThreeWFileError, match=r"two columns are tagged #org\+impl"):
        read_3w(csv_bytes(TAGS.rstrip() + ",#org+impl\n" + ROW.rstrip() + ",X\n"), "x.csv")


def test_place_lists_keep_blank_positions():
    tags = TAGS.rstrip() + ",#adm1+code\n"
    parsed = read_3w(csv_bytes(tags + "ILO,T,training,S,2025-01-01,BD|BD,|BD-C\n"), "x.csv")
    assert parsed.records[0].values["country_code"] == ["BD", "BD"]
    assert parsed.records[0].values["adm1_code"] == ["", "BD-C"]


@pytest.mark.parametrize("missing", ["#org+impl", "#sector", "#date+start", "#activity+name"])
def test_a_missing_required_column_is_named(missing):
    tags = ",".join(t for t in TAGS.strip().split(",") if t != missing) + "\n"
    with pytest.raises(ThreeWFileError, match="required column") as error:
        read_3w(csv_bytes(tags + ROW), "x.csv")
    assert missing in str(error.value)


def test_no_hashtag_row_is_a_clear_error():
    with pytest.raises(ThreeWFileError, match="no row of HXL hashtags"):
        read_3w(csv_bytes(HEADER + ROW), "x.csv")


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8-sig", b""), ("utf-16", b""), ("cp1252", b""), ("utf-16-le", b"")],
)
def test_encodings(encoding, prefix):
    text = TAGS + "Société Générale,Café training,training,Gender equality,2025-01-01,VN\n"
    parsed = read_3w(prefix + text.encode(encoding), "x.csv")
    assert parsed.records[0].values["lead"] == "Société Générale"
    assert parsed.records[0].values["title"] == "Café training"


def test_an_undecodable_file_is_refused():
    # 0x81 is undefined in Windows-1252 and invalid as UTF-8.
    with pytest.raises(ThreeWFileError, match="encodings"):
        decode_text(TAGS.encode() + b"\x81\x81\n")


def test_semicolon_separated_csv_is_read():
    text = TAGS.replace(",", ";") + ROW.replace(",", ";")
    assert read_3w(csv_bytes(text), "x.csv").records[0].values["lead"] == "ILO"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.7 ...", "x.pdf", ".pdf file"),
        (b"%PDF-1.7 ...", None, "not a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, None, "old Excel"),
        (b"PK\x03\x04garbage", "x.xlsx", "damaged"),
        (TAGS.encode(), "x.xlsx", "is not an Excel workbook"),
        (b"", "x.csv", "empty"),
        (b"\x00\x01\x02binary\x00junk\x00" * 20, "x.csv", "binary data"),
    ],
)
def test_wrong_file_types_are_refused(data, name, message):
    with pytest.raises(ThreeWFileError, match=message):
        read_3w(data, name)


def test_a_zip_that_is_no_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ThreeWFileError, match="not an Excel workbook"):
        read_3w(buffer.getvalue(), "x.xlsx")


def test_a_zip_bomb_is_refused_before_unpacking(monkeypatch):
    monkeypatch.setattr(hxl3w, "MAX_UNPACKED_BYTES", 1000)
    data = write_xlsx([{"title": "x" * 5000, "lead": "ILO"}])
    with pytest.raises(ThreeWFileError, match="would unpack"):
        read_3w(data, "x.xlsx")


def test_oversize_files_and_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(hxl3w, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ThreeWFileError, match="the limit is"):
        read_3w(csv_bytes(TAGS + ROW * 50), "x.csv")
    monkeypatch.setattr(hxl3w, "MAX_FILE_BYTES", 10**9)
    monkeypatch.setattr(hxl3w, "MAX_ROWS", 10)
    with pytest.raises(ThreeWFileError, match="rows"):
        read_3w(csv_bytes(TAGS + ROW * 50), "x.csv")


def test_a_huge_cell_is_refused():
    with pytest.raises(ThreeWFileError, match="field larger|characters"):
        read_3w(csv_bytes(TAGS + ROW.replace("ILO", "I" * 200_000)), "x.csv")


def test_xlsx_is_read_with_typed_dates_and_formulas_as_text():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Lead", "Activity", "Type", "Sector", "Start", "Country"])
    sheet.append(TAGS.strip().split(","))
    sheet.append(
        ['=HYPERLINK("http://evil")', "T", "training", "Gender equality", date(2025, 1, 2), "BD"]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = read_3w(buffer.getvalue(), "x.xlsx")
    values = parsed.records[0].values
    assert values["start"] == "2025-01-02"
    assert values["lead"] == '=HYPERLINK("http://evil")'  # kept as text, never evaluated


def _rows_of_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_written_csv_has_header_and_tag_rows_and_reads_back():
    row = {
        "code": "A-1",
        "title": "=1+1 training",
        "lead": "ILO",
        "type": "training",
        "themes": ["Gender equality", "Productivity"],
        "start": date(2025, 1, 1),
        "country_code": ["BD", "BD"],
        "adm1_code": ["", "BD-C"],
    }
    data = write_csv([row])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _rows_of_csv(data)
    assert rows[1] == [f.hashtag for f in FIELDS]
    assert rows[2][1] == "'=1+1 training"
    values = read_3w(data, "x.csv").records[0].values
    assert values["title"] == "=1+1 training"
    assert values["themes"] == ["Gender equality", "Productivity"]
    assert values["adm1_code"] == ["", "BD-C"]
    assert values["start"] == "2025-01-01"


# --------------------------------------------------------------------------- properties

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00|"),
    max_size=30,
)


@given(texts)
def test_escape_is_reversible_and_never_starts_a_formula(text):
    escaped = escape_cell(text)
    assert not escaped.startswith(TRIGGERS)
    assert unescape_cell(escaped) == text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({f.name: texts for f in FIELDS}), min_size=1, max_size=4))
def test_no_text_cell_we_write_starts_with_a_formula_trigger(rows):
    for cell in (c for row in _rows_of_csv(write_csv(rows)) for c in row):
        assert not cell.startswith(TRIGGERS), cell
    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(rows)), read_only=True)
    for row in workbook.worksheets[0].iter_rows():
        for cell in row:
            if cell.data_type == "f":
                raise AssertionError(f"formula cell {cell.coordinate}: {cell.value!r}")
            if isinstance(cell.value, str):
                assert not cell.value.startswith(TRIGGERS), cell.value
    workbook.close()


printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|"),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({f.name: printable for f in FIELDS}), min_size=1, max_size=4))
def test_written_text_reads_back_the_same(rows):
    clean = [
        {k: (v.strip() if k not in hxl3w.ALIGNED else v.strip()) for k, v in row.items()}
        for row in rows
    ]
    # rows that are blank everywhere are dropped on reading, as spreadsheets do
    wanted = [row for row in clean if any(row.values())]
    for data, name in ((write_csv(clean), "x.csv"), (write_xlsx(clean), "x.xlsx")):
        try:
            parsed = read_3w(data, name)
        except ThreeWFileError:
            continue
        assert len(parsed.records) == len(wanted)
        for record, row in zip(parsed.records, wanted, strict=True):
            for f in FIELDS:
                if not f.multiple:
                    assert record.values[f.name] == _normal(row[f.name]), f.name


def _normal(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["x.csv", "x.xlsx", None, "x.txt"]))
def test_fuzzed_bytes_give_a_clear_error_or_records(data, name):
    try:
        read_3w(data, name)
    except ThreeWFileError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(texts, max_size=8), max_size=8))
def test_fuzzed_csv_after_a_tag_row_gives_records_or_a_clear_error(rows):
    out = io.StringIO()
    csv.writer(out).writerows([TAGS.strip().split(","), *rows])
    try:
        read_3w(out.getvalue().encode(), "x.csv")
    except ThreeWFileError:
        pass


DOCS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs"


def test_the_template_in_docs_is_the_one_the_code_writes():
    assert (DOCS / "3w-template.csv").read_bytes() == write_csv(hxl3w.TEMPLATE_ROWS)
    from_csv = read_3w((DOCS / "3w-template.csv").read_bytes(), "3w-template.csv")
    from_xlsx = read_3w((DOCS / "3w-template.xlsx").read_bytes(), "3w-template.xlsx")
    assert [r.values for r in from_csv.records] == [r.values for r in from_xlsx.records]
    assert len(from_csv.records) == len(hxl3w.TEMPLATE_ROWS)
    assert set(from_csv.columns) == {f.name for f in FIELDS}
