"""Contact files: encoding, delimiter, header and columns, then rows streamed with line numbers.

Rules (the README's "Importing contacts" says the same to users):
- Encoding: a UTF-16 or UTF-8 byte-order mark decides; otherwise UTF-8 when the first 64 KiB
  decode as UTF-8 (a stray invalid byte later on is read as Latin-1), else Latin-1.
- Delimiter: whichever of `,` `;` tab splits the sampled rows into the same number (> 1) of
  fields most consistently, then the most fields; a one-column file needs none.
- Header: the first row is a header when a cell names a known column, or when none of its cells
  looks like a phone number (six digits or more and nothing but digits, spaces and `+-.()/`).
- Phone column: by header name (phone, mobile, msisdn, number, tel, cell, téléphone, telefon,
  handy…; case, accents and punctuation ignored); when several columns qualify, or none does,
  the one whose sampled values read as valid numbers most often.
- Names: first_name/firstname/prénom/given name…, last_name/surname/nom…; a lone `name` column is
  kept whole as first_name (splitting names is guesswork: Maria de la Cruz, Nguyễn Văn An).
- Every other column is an attribute, keyed by its header in snake case (`Loyalty Points` →
  `loyalty_points`), or `column_<n>` without a header. Empty cells are left out. At most 50
  such columns, headers of at most 64 characters (the file is refused otherwise); a row with a
  value over 1,000 characters is rejected, with the column named.

Neither this module nor import_workers imports SQLAlchemy or the models, so import worker
processes stay small.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from textcast.domain.audience.attributes import MAX_ATTRIBUTES, MAX_KEY_CHARS
from textcast.domain.phones.numbers import InvalidPhone, read_phone

if TYPE_CHECKING:
    from _csv import Reader

NUL = "\x00"
SAMPLE_BYTES = 64 * 1024
SAMPLE_ROWS = 200
DELIMITERS = (",", ";", "\t")
_LATIN1_FALLBACK = "textcast-latin-1-fallback"

_PHONE_NAMES = {
    # Ranked: a column that names a mobile beats one that names any phone, then a bare "number".
    "msisdn": 0,
    "mobile": 0,
    "mobile_phone": 0,
    "mobile_number": 0,
    "mobilephone": 0,
    "mobil": 0,
    "mobilnummer": 0,
    "mobiltelefon": 0,
    "handy": 0,
    "handynummer": 0,
    "cell": 0,
    "cellphone": 0,
    "cell_phone": 0,
    "cellular": 0,
    "celular": 0,
    "movil": 0,
    "portable": 0,
    "gsm": 0,
    "sms": 0,
    "phone": 1,
    "phone_number": 1,
    "phonenumber": 1,
    "telephone": 1,
    "telephone_number": 1,
    "tel": 1,
    "telefon": 1,
    "telefonnummer": 1,
    "telefono": 1,
    "telefone": 1,
    "телефон": 1,
    "number": 2,
    "numero": 2,
}
_PHONE_WORDS = {"msisdn", "mobile", "mobil", "handy", "cell", "celular", "movil", "portable"} | {
    "phone",
    "telephone",
    "tel",
    "telefon",
    "telefono",
    "telefone",
}
_FIRST_NAMES = {"first_name", "firstname", "first", "given_name", "givenname", "forename"} | {
    "fname",
    "prenom",
    "vorname",
    "nombre",
    "nome",
    "voornaam",
}
_LAST_NAMES = {"last_name", "lastname", "last", "surname", "family_name", "familyname"} | {
    "lname",
    "nom",
    "nom_de_famille",
    "nachname",
    "apellido",
    "apellidos",
    "sobrenome",
    "achternaam",
}
_FULL_NAMES = {"name", "full_name", "fullname", "contact", "contact_name", "nom_complet"}
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]{6,}")


class CsvProblem(ValueError):
    """The file cannot be imported; the message says why (never with personal data)."""


@dataclass(frozen=True, slots=True)
class Columns:
    phone: int
    first_name: int | None
    last_name: int | None
    attributes: tuple[tuple[int, str], ...]
    """(field index, attribute key) for every other column."""
    width: int
    """Fields in the header (or the widest sampled row without one)."""


@dataclass(frozen=True, slots=True)
class Layout:
    encoding: str
    delimiter: str
    has_header: bool
    columns: Columns


Row = tuple[int, list[str]]
"""A data row's physical line in the file (of its first field; the header is line 1) and its
fields."""


# -- detection ----------------------------------------------------------------------------------


def detect_layout(path: Path, default_region: str) -> Layout:
    with path.open("rb") as file:
        head = file.read(SAMPLE_BYTES)
        more = bool(file.read(1))
    if not head.strip(b" \t\r\n\xef\xbb\xbf\xff\xfe\x00"):
        raise CsvProblem("the file is empty")
    encoding = detect_encoding(head)
    text = _sample_text(head, encoding, complete=not more)
    try:
        delimiter = detect_delimiter(text)
        rows = [row for row in _reader(_lines(text), delimiter) if any(row)][: SAMPLE_ROWS + 1]
    except csv.Error as exc:
        raise CsvProblem(f"malformed CSV ({exc})") from None
    if not rows:
        raise CsvProblem("the file has no rows")
    has_header = _is_header(rows[0])
    header = rows[0] if has_header else None
    data = rows[1:] if has_header else rows
    return Layout(encoding, delimiter, has_header, _map_columns(header, data, default_region))


def detect_encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig"


def detect_delimiter(text: str) -> str:
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in _reader(_lines(text), delimiter) if any(row)]
        widths = widths[: SAMPLE_ROWS + 1]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = (widths.count(common) / len(widths), common)
        if common > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _sample_text(head: bytes, encoding: str, *, complete: bool) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=complete)
    if not complete:
        # Drop the last, probably cut, line.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut] if cut > 0 else text
    return text


def _lines(text: str) -> io.StringIO:
    # As `read_rows` reads the file: a lone \r ends a line too (old Mac files), NULs go.
    return io.StringIO(text.replace(NUL, ""), newline="")


def _without_nul(lines: Iterable[str]) -> Iterator[str]:
    """NUL characters dropped: padding from some exports, and PostgreSQL text cannot hold one."""
    for line in lines:
        yield line.replace(NUL, "") if NUL in line else line


def _is_header(first: list[str]) -> bool:
    keys = [column_key(cell) for cell in first]
    if any(_is_phone_name(key) or _name_role(key) for key in keys):
        return True
    return not any(_PHONE_LIKE.fullmatch(cell.strip()) for cell in first)


def _map_columns(header: list[str] | None, data: list[list[str]], default_region: str) -> Columns:
    width = len(header) if header is not None else max((len(row) for row in data), default=1)
    keys = [column_key(cell) for cell in header] if header is not None else [""] * width
    named = [i for i, key in enumerate(keys) if _is_phone_name(key)]
    candidates = named or list(range(width))
    scores = {i: _valid_share(data, i, default_region) for i in candidates}

    def rank(i: int) -> tuple[int, int, int]:
        return (-scores[i][0], _PHONE_NAMES.get(keys[i], 3), i)

    phone = min(candidates, key=rank)
    valid, filled = scores[phone]
    if not named and (valid == 0 or valid * 2 < filled):
        raise CsvProblem(
            "no phone column: name it phone, mobile or number (or similar), "
            "or put one number per row in one column"
        )
    roles = {i: _name_role(key) for i, key in enumerate(keys) if i != phone}
    first = next((i for i, role in roles.items() if role == "first"), None)
    last = next((i for i, role in roles.items() if role == "last"), None)
    if first is None and last is None:
        first = next((i for i, role in roles.items() if role == "full"), None)
    taken = {phone, first, last}
    attributes: list[tuple[int, str]] = []
    used: set[str] = set()
    for i in range(width):
        if i in taken:
            continue
        key = keys[i] or f"column_{i + 1}"
        while key in used:
            key += "_2"
        used.add(key)
        attributes.append((i, key))
    _check_attribute_columns(attributes)
    return Columns(phone, first, last, tuple(attributes), width)


def _check_attribute_columns(columns: list[tuple[int, str]]) -> None:
    if len(columns) > MAX_ATTRIBUTES:
        raise CsvProblem(
            f"{len(columns)} columns besides the number and names, where contacts have at most "
            f"{MAX_ATTRIBUTES} attributes: remove the columns you do not need"
        )
    for index, key in columns:
        if len(key) > MAX_KEY_CHARS:
            raise CsvProblem(
                f"the header of column {index + 1} is over {MAX_KEY_CHARS} characters: shorten it"
            )


def _valid_share(data: list[list[str]], index: int, default_region: str) -> tuple[int, int]:
    """(valid numbers, non-empty cells) among the sampled rows' field `index`."""
    valid = filled = 0
    for row in data:
        value = row[index].strip() if index < len(row) else ""
        if not value:
            continue
        filled += 1
        try:
            read_phone(value, default_region, with_time_zone=False)
        except InvalidPhone:
            continue
        valid += 1
    return valid, filled


def column_key(header: str) -> str:
    """`Téléphone portable` → `telephone_portable`: accents, case and punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", header.strip())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "_", plain).strip("_")


def _is_phone_name(key: str) -> bool:
    return key in _PHONE_NAMES or any(word in _PHONE_WORDS for word in key.split("_"))


def _name_role(key: str) -> str | None:
    if key in _FIRST_NAMES:
        return "first"
    if key in _LAST_NAMES:
        return "last"
    if key in _FULL_NAMES:
        return "full"
    return None


# -- streaming ----------------------------------------------------------------------------------


def read_rows(file: BinaryIO, layout: Layout) -> Iterator[Row]:
    """Every non-blank data row; `file` is read in buffered chunks, never whole, so
    `file.tell()` tells how far the reading got."""
    _register_latin1_fallback()
    errors = _LATIN1_FALLBACK if layout.encoding == "utf-8-sig" else "strict"
    text = io.TextIOWrapper(file, encoding=layout.encoding, errors=errors, newline="")
    reader = _reader(_without_nul(text), layout.delimiter)
    previous = 0
    header_pending = layout.has_header
    try:
        for fields in reader:
            line, previous = previous + 1, reader.line_num
            if not (fields and (fields[0] or any(fields))):
                continue
            if header_pending:
                header_pending = False
                continue
            yield line, fields
    except csv.Error as exc:
        raise CsvProblem(f"line {previous + 1}: malformed CSV ({exc})") from None
    except UnicodeDecodeError:
        raise CsvProblem(f"line {previous + 1}: not {layout.encoding} text") from None
    finally:
        if not file.closed:
            text.detach()


def _reader(lines: Iterable[str], delimiter: str) -> Reader:
    # csv's own limit on a field (128 KiB) stops a stray quote from swallowing the file.
    return csv.reader(lines, delimiter=delimiter, quotechar='"', skipinitialspace=True)


def _register_latin1_fallback() -> None:
    def latin1(error: UnicodeError) -> tuple[str, int]:
        assert isinstance(error, UnicodeDecodeError)
        return error.object[error.start : error.end].decode("latin-1"), error.end

    codecs.register_error(_LATIN1_FALLBACK, latin1)
