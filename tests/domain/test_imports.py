import hashlib
import hmac
import random
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as number_time_zones
from sqlalchemy import select

from textcast.db import Database
from textcast.domain.audience import suppressions
from textcast.domain.errors import InvalidInput
from textcast.domain.imports import jobs as imports
from textcast.domain.imports.csv_reading import Columns, column_key
from textcast.domain.imports.jobs import Progress
from textcast.domain.imports.workers import read_contacts
from textcast.domain.phones.numbers import InvalidPhone, PhoneInfo, read_phone
from textcast.models import (
    ConsentEvent,
    Contact,
    ContactList,
    ContactStatus,
    ImportJob,
    ImportRejection,
    ListMember,
)

SECRET = b"test-secret"


def write(tmp_path: Path, content: str | bytes, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run(
    database: Database,
    path: Path,
    *,
    region: str = "FR",
    list_name: str | None = None,
    **options: object,
) -> ImportJob:
    with database.write() as session:
        job = imports.start_import(
            session,
            path=path,
            filename=path.name,
            default_region=region,
            consent_confirmed=True,
            list_name=list_name,
        )
    return imports.run_import(database, job.id, path, SECRET, **options)  # type: ignore[arg-type]


def contacts(database: Database) -> dict[str, Contact]:
    with database.read() as session:
        return {c.phone: c for c in session.scalars(select(Contact))}


def rejections(database: Database, job: ImportJob) -> list[tuple[int, str, str | None]]:
    with database.read() as session:
        rows = session.scalars(
            select(ImportRejection)
            .where(ImportRejection.import_id == job.id)
            .order_by(ImportRejection.line)
        )
        return [(r.line, r.reason, r.value) for r in rows]


# -- file shapes --------------------------------------------------------------------------------


def test_reads_semicolons_with_a_utf8_bom(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffPrénom;Nom;Téléphone\nAmélie;Poulain;06 12 34 56 78\n")
    job = run(database, path)
    assert (job.status, job.created) == ("completed", 1)
    amelie = contacts(database)["+33612345678"]
    assert (amelie.first_name, amelie.last_name) == ("Amélie", "Poulain")


def test_reads_latin1_files_and_tabs(database: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path, "first_name\tmobile\tcity\nZoë\t0612345678\tSaint-Étienne\n".encode("latin-1")
    )
    job = run(database, path)
    assert job.created == 1
    zoe = contacts(database)["+33612345678"]
    assert zoe.first_name == "Zoë"
    assert zoe.attributes == {"city": "Saint-Étienne"}


def test_reads_utf16_with_its_byte_order_mark(database: Database, tmp_path: Path) -> None:
    # Excel's "Unicode text": UTF-16, tabs.
    path = write(tmp_path, "Nom\tPortable\nLefèvre\t06 12 34 56 78\n".encode("utf-16"))
    job = run(database, path)
    assert (job.created, contacts(database)["+33612345678"].last_name) == (1, "Lefèvre")


def test_a_stray_latin1_byte_in_a_utf8_file_is_read_as_latin1(
    database: Database, tmp_path: Path
) -> None:
    head = "name,phone\n" + "".join(f"Ana,+3361234{i:04d}\n" for i in range(3000))
    path = write(tmp_path, head.encode() + "Zoë,+33699999999\n".encode("latin-1"))
    job = run(database, path)
    assert job.created == 3001
    assert contacts(database)["+33699999999"].first_name == "Zoë"


def test_quoted_fields_and_blank_lines_keep_physical_line_numbers(
    database: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "name,phone,notes\n"  # line 1
        '"Dupont, Jean",0612345678,"two\nlines"\n'  # lines 2-3
        "\n"  # line 4
        ",,\n"  # line 5: only delimiters, blank too
        '"Le ""Grand""",not a number,\n'  # line 6
        "Ana,0612345679,\r\n",  # line 7
    )
    job = run(database, path)
    assert (job.rows, job.created, job.rejected) == (3, 2, 1)
    assert rejections(database, job) == [(6, "not a phone number", "not a number")]
    found = contacts(database)
    assert found["+33612345678"].first_name == "Dupont, Jean"
    assert found["+33612345678"].attributes == {"notes": "two\nlines"}


@pytest.mark.parametrize(
    "header",
    ["phone", "Mobile Number", "MSISDN", "Téléphone portable", "Telefon", "Handy", "tel.", "Cell"],
)
def test_finds_the_phone_column_by_its_header(
    database: Database, tmp_path: Path, header: str
) -> None:
    path = write(tmp_path, f"id,{header},zip\n42,06 12 34 56 78,75011\n")
    job = run(database, path)
    assert job.created == 1
    assert contacts(database)["+33612345678"].attributes == {"id": "42", "zip": "75011"}


def test_finds_the_phone_column_by_its_values_when_no_header_names_it(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "who,contact me,code\nAna,+44 7400 123456,1234567\nBo,,7654321\n")
    job = run(database, path)
    assert (job.created, job.rejected) == (1, 1)
    assert rejections(database, job) == [(3, "no phone number", None)]


def test_a_file_without_a_header_row(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "Ana;0612345678;Lyon\nBo;0612345679;Nice\n")
    job = run(database, path)
    assert (job.rows, job.created) == (2, 2)
    assert contacts(database)["+33612345679"].attributes == {
        "column_1": "Bo",
        "column_3": "Nice",
    }


def test_first_and_last_names_and_a_lone_name_column(database: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Given Name,Surname,Phone,Loyalty Points\nJean,Dupont,0612345678,120\n",
        "split.csv",
    )
    run(database, path)
    whole = write(tmp_path, "Name,Phone\nMaria de la Cruz,0612345679\n", "whole.csv")
    run(database, whole)
    found = contacts(database)
    jean = found["+33612345678"]
    assert (jean.first_name, jean.last_name, jean.attributes) == (
        "Jean",
        "Dupont",
        {"loyalty_points": "120"},
    )
    maria = found["+33612345679"]
    assert (maria.first_name, maria.last_name) == ("Maria de la Cruz", None)


def test_attributes_keep_quotes_accents_and_emoji(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, 'phone,City,city,note\n0612345678,Zürich,"a \\ b","say ""hi"" 😀"\n')
    run(database, path)
    assert contacts(database)["+33612345678"].attributes == {
        "city": "Zürich",
        "city_2": "a \\ b",
        "note": 'say "hi" 😀',
    }


def test_column_keys_drop_case_accents_and_punctuation() -> None:
    assert column_key(" Téléphone  Portable ") == "telephone_portable"
    assert column_key("N° de client") == "n_de_client"


# -- numbers ------------------------------------------------------------------------------------


def test_national_numbers_are_read_with_the_default_region(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "phone\n(201) 555-0123\n+33 6 12 34 56 78\n")
    job = run(database, path, region="US")
    assert job.created == 2
    found = contacts(database)
    us = found["+12015550123"]
    assert (us.country, us.time_zone) == ("US", "America/New_York")
    fr = found["+33612345678"]
    assert (fr.country, fr.time_zone) == ("FR", "Europe/Paris")


def test_one_contact_per_number_within_the_file(database: Database, tmp_path: Path) -> None:
    rows = ["0612345678", "+33612345678", "0033 6 12 34 56 78", "06.12.34.56.79"] * 3
    path = write(tmp_path, "phone\n" + "\n".join(rows) + "\n")
    # Chunks of two rows: the same number is met again in later chunks and transactions.
    job = run(database, path, chunk_rows=2)
    assert (job.rows, job.created, job.duplicates, job.rejected) == (12, 2, 10, 0)
    assert set(contacts(database)) == {"+33612345678", "+33612345679"}


def test_a_number_already_in_the_database_is_updated_not_duplicated(
    database: Database, tmp_path: Path
) -> None:
    first = write(tmp_path, "first_name,phone,city\nJean,+33612345678,Paris\n", "first.csv")
    run(database, first)
    second = write(
        tmp_path, "last_name,phone,tier\nDupont,0612345678,gold\nAna,0612345679,\n", "second.csv"
    )
    job = run(database, second)
    assert (job.created, job.updated) == (1, 1)
    jean = contacts(database)["+33612345678"]
    assert (jean.first_name, jean.last_name) == ("Jean", "Dupont")
    assert jean.attributes == {"city": "Paris", "tier": "gold"}
    assert jean.status == ContactStatus.SUBSCRIBED


def test_rejected_rows_are_recorded_with_their_line_and_reason(
    database: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "name,phone\n"
        "Ana,0612345678\n"
        "Bo,n/a\n"
        "Cy,01 23 45 67 89\n"
        "Di,+999 1234 5678\n"
        "Ed,12\n"
        "Flo,\n"
        "Guy,0612345679,extra,fields\n",
    )
    job = run(database, path)
    assert (job.rows, job.created, job.rejected) == (7, 1, 6)
    assert rejections(database, job) == [
        (3, "not a phone number", "n/a"),
        (4, "not a mobile number (landline, toll-free or premium)", "01 23 45 67 89"),
        (5, "has an unknown country code", "+999 1234 5678"),
        (6, "too short for a FR number", "12"),
        (7, "no phone number", None),
        (8, "4 fields where 2 were expected (a stray delimiter?)", None),
    ]


def test_rejections_download_as_csv_and_formulas_are_defused(
    database: Database, tmp_path: Path
) -> None:
    # Numbers too (`+33 6 12` and `-1+1` were left as they were): one rule for every cell.
    path = write(tmp_path, 'phone\n"=HYPERLINK(""x"")"\n+33 6 12\n-1+1\n@SUM(1)\n')
    job = run(database, path)
    with database.read() as session:
        text = "".join(imports.rejections_csv(session, job.id))
    assert text.splitlines() == [
        "line,reason,value",
        '2,not a phone number,"\'=HYPERLINK(""x"")"',
        "3,too short for a FR number,'+33 6 12",
        "4,not a phone number,'-1+1",
        "5,not a phone number,'@SUM(1)",
    ]


def test_cells_our_exports_quoted_import_as_they_were(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "phone,first_name,note\n'+33612345678,'=Ana,'-gold\n")
    job = run(database, path)
    assert (job.created, job.rejected) == (1, 0)
    contact = contacts(database)["+33612345678"]
    assert (contact.first_name, contact.attributes) == ("=Ana", {"note": "-gold"})


def test_a_row_with_an_oversized_value_is_rejected_and_the_others_imported(
    database: Database, tmp_path: Path
) -> None:
    notes = "x" * 1_001
    path = write(tmp_path, f"phone,notes\n0612345678,{notes}\n0612345679,{'y' * 1_000}\n")
    job = run(database, path)
    assert (job.created, job.rejected) == (1, 1)
    assert rejections(database, job) == [
        (2, "notes: 1,001 characters where at most 1,000 are allowed", "x" * 100)
    ]
    assert contacts(database)["+33612345679"].attributes == {"notes": "y" * 1_000}


def test_files_with_other_columns_cannot_add_up_past_the_attribute_cap(
    database: Database, tmp_path: Path
) -> None:
    def file_of(prefix: str) -> Path:
        columns = [f"{prefix}{n}" for n in range(30)]
        header = ",".join(["phone", *columns])
        row = ",".join(["0612345678", *(["v"] * 30)])
        return write(tmp_path, f"{header}\n{row}\n", f"{prefix}.csv")

    assert run(database, file_of("a")).created == 1
    second = run(database, file_of("b"))
    assert (second.updated, second.rejected) == (0, 1)
    assert rejections(database, second) == [
        (
            2,
            "the contact would have 60 attributes with this row's, where at most 50 are allowed",
            None,
        )
    ]
    assert len(contacts(database)["+33612345678"].attributes) == 30


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (",".join(["phone", *(f"c{n}" for n in range(51))]), "51 columns besides the number"),
        ("phone," + "h" * 65, "the header of column 2 is over 64 characters"),
    ],
)
def test_a_file_with_too_many_or_too_long_attribute_columns_is_refused(
    database: Database, tmp_path: Path, header: str, problem: str
) -> None:
    path = write(tmp_path, f"{header}\n0612345678\n")
    with database.write() as session, pytest.raises(InvalidInput) as refused:
        imports.start_import(
            session, path=path, filename="c.csv", default_region="FR", consent_confirmed=True
        )
    [found] = refused.value.problems
    assert found.field == "file" and found.message.startswith(problem)


def test_first_rejections_preview_the_report_by_line(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "phone\nn/a\n0612345678\nnope\n+33 6 12\n")
    job = run(database, path)
    with database.read() as session:
        first = imports.first_rejections(session, job.id, limit=2)
    assert [(r.line, r.value) for r in first] == [(2, "n/a"), (4, "nope")]


# -- consent ------------------------------------------------------------------------------------


def test_never_resubscribes_an_unsubscribed_contact(database: Database, tmp_path: Path) -> None:
    run(database, write(tmp_path, "phone\n0612345678\n", "first.csv"))
    with database.write() as session:
        contact = session.scalars(select(Contact)).one()
        contact.status = ContactStatus.UNSUBSCRIBED
    job = run(database, write(tmp_path, "name,phone\nJean,+33612345678\n", "again.csv"))
    assert (job.updated, job.kept_opted_out) == (0, 1)
    contact = contacts(database)["+33612345678"]
    assert contact.status == ContactStatus.UNSUBSCRIBED
    assert contact.first_name == "Jean"
    with database.read() as session:
        sources = session.scalars(select(ConsentEvent.source)).all()
    assert sources == ["import:1"]


def test_never_subscribes_a_suppressed_number(database: Database, tmp_path: Path) -> None:
    with database.write() as session:
        suppressions.suppress(session, SECRET, "+33612345678", "STOP")
    job = run(database, write(tmp_path, "phone\n06 12 34 56 78\n06 12 34 56 79\n"))
    assert (job.created, job.kept_opted_out) == (1, 1)
    found = contacts(database)
    assert found["+33612345678"].status == ContactStatus.UNSUBSCRIBED
    assert found["+33612345679"].status == ContactStatus.SUBSCRIBED
    with database.read() as session:
        consented = set(session.scalars(select(ConsentEvent.contact_id)))
    assert consented == {found["+33612345679"].id}


def test_a_suppressed_number_already_subscribed_becomes_unsubscribed(
    database: Database, tmp_path: Path
) -> None:
    run(database, write(tmp_path, "phone\n0612345678\n", "first.csv"))
    with database.write() as session:
        suppressions.suppress(session, SECRET, "+33612345678", "STOP")
    job = run(database, write(tmp_path, "phone\n0612345678\n", "again.csv"))
    assert job.kept_opted_out == 1
    assert contacts(database)["+33612345678"].status == ContactStatus.UNSUBSCRIBED


def test_each_imported_contact_gets_an_opt_in_citing_the_file_and_line(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "phone\n0612345678\n0612345678\n\n0612345679\n", "spring.csv")
    job = run(database, path)
    with database.read() as session:
        events = session.execute(
            select(Contact.phone, ConsentEvent.kind, ConsentEvent.source, ConsentEvent.evidence)
            .join(Contact, Contact.id == ConsentEvent.contact_id)
            .order_by(Contact.phone)
        ).all()
    assert [tuple(e) for e in events] == [
        ("+33612345678", "opt_in", f"import:{job.id}", "CSV import spring.csv, line 2"),
        ("+33612345679", "opt_in", f"import:{job.id}", "CSV import spring.csv, line 5"),
    ]


def test_contacts_join_the_list_which_is_created_if_missing(
    database: Database, tmp_path: Path
) -> None:
    run(database, write(tmp_path, "phone\n0612345678\n", "a.csv"), list_name="Spring")
    job = run(
        database, write(tmp_path, "phone\n0612345678\n0612345679\n", "b.csv"), list_name="Spring"
    )
    with database.read() as session:
        spring = session.scalars(select(ContactList)).one()
        members = session.scalars(
            select(Contact.phone).join(ListMember, ListMember.contact_id == Contact.id)
        ).all()
    assert (spring.name, job.list_id) == ("Spring", spring.id)
    assert sorted(members) == ["+33612345678", "+33612345679"]


# -- the job ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "region", "field", "message"),
    [
        ("phone\n0612345678\n", "XX", "default_region", "not a country code"),
        ("", "FR", "file", "the file is empty"),
        ("\ufeff\n\n", "FR", "file", "the file is empty"),
        ("name,city\nAna,Paris\nBo,Lyon\n", "FR", "file", "no phone column"),
    ],
)
def test_start_refuses_what_cannot_work(
    database: Database, tmp_path: Path, content: str, region: str, field: str, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InvalidInput) as refused, database.write() as session:
        imports.start_import(
            session, path=path, filename="x.csv", default_region=region, consent_confirmed=True
        )
    assert [p.field for p in refused.value.problems] == [field]
    assert message in refused.value.problems[0].message
    with database.read() as session:
        assert session.scalars(select(ImportJob)).all() == []


def test_progress_is_committed_while_the_import_runs(database: Database, tmp_path: Path) -> None:
    rows = "".join(f"+33 6 12 34 {i // 100:02d} {i % 100:02d}\n" for i in range(1000))
    path = write(tmp_path, "phone\n" + rows)
    seen: list[tuple[str, int, int]] = []

    def look(progress: Progress) -> None:
        with database.read() as session:
            job = session.scalars(select(ImportJob)).one()
            seen.append((job.status, job.rows, progress.rows))

    job = run(database, path, chunk_rows=100, on_progress=look)
    assert [rows for _, rows, _ in seen] == [400, 800, 1000]
    assert all(status == "running" and rows == mine for status, rows, mine in seen)
    assert (job.status, job.rows, job.created, job.bytes_read) == (
        "completed",
        1000,
        1000,
        path.stat().st_size,
    )
    assert job.finished_at is not None


def test_a_malformed_file_fails_the_job_naming_the_line(database: Database, tmp_path: Path) -> None:
    runaway = '0612345678\n"' + "x" * 200_000 + "\n"
    job = run(database, write(tmp_path, "phone\n0612345679\n" + runaway))
    assert job.status == "failed"
    assert job.error is not None and job.error.startswith("line 4: malformed CSV")
    assert job.finished_at is not None


def test_worker_processes_import_the_same_as_inline(database: Database, tmp_path: Path) -> None:
    rows = "".join(f"Ana {i},+33 6 12 34 {i // 100:02d} {i % 100:02d},{i}\n" for i in range(300))
    path = write(tmp_path, "name,phone,code\n" + rows + "Bo,nope,1\n0612340000,,\n")
    job = run(database, path, workers=2, chunk_rows=50)
    assert (job.status, job.rows, job.created, job.rejected, job.duplicates) == (
        "completed",
        302,
        300,
        2,
        0,
    )
    assert contacts(database)["+33612340299"].attributes == {"code": "299"}


def test_workers_hash_numbers_as_suppressions_do() -> None:
    columns = Columns(phone=0, first_name=None, last_name=None, attributes=(), width=1)
    [result] = read_contacts([["+33612345678"]], columns, "FR", SECRET)
    assert result[3] == suppressions.phone_hash(SECRET, "+33612345678")


def test_a_batch_of_numbers_hashes_as_each_number_alone() -> None:
    """The dispatcher hashes a batch's numbers with a key prepared once: the same hashes,
    each number its own (an HMAC-SHA256 of the number)."""
    phones = ["+33612345678", "+12015550100", "+12015550101"]
    # Keys shorter and longer than SHA-256's block (64 bytes) are prepared differently.
    for secret in (SECRET, b"k" * 64, b"a longer key than a block of sha-256 holds" * 3):
        expected = {hmac.new(secret, p.encode(), hashlib.sha256).hexdigest(): p for p in phones}
        assert suppressions.phone_hashes(secret, phones) == expected
        assert [suppressions.phone_hash(secret, p) for p in phones] == list(expected)


# -- the fast path of phone numbers -------------------------------------------------------------

_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


def _for(region: str | None) -> str:
    return f" for a {region} number" if region and region.isalpha() and region != "ZZ" else ""


_NOT_MOBILE = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.TOLL_FREE,
}


def _by_phonenumbers(raw: str, region: str) -> PhoneInfo | str:
    """What phonenumbers alone says, step by step (parse, validate, type, region, zones)."""
    text = raw.strip()
    if not text:
        return "empty"
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _REASONS.get(exc.error_type, "not a phone number")
        if reason.startswith("too"):
            reason += _for(None if text.startswith("+") else region)
        return reason
    if not phonenumbers.is_valid_number(number):
        country = phonenumbers.region_code_for_country_code(number.country_code)
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible == phonenumbers.ValidationResult.IS_POSSIBLE:
            return "not a valid " + (_for(country).removeprefix(" for a ") or "number")
        if possible == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
            return "has an unknown country code"
        if possible == phonenumbers.ValidationResult.TOO_SHORT:
            return "too short" + _for(country)
        if possible == phonenumbers.ValidationResult.TOO_LONG:
            return "too long" + _for(country)
        return "not a possible length" + _for(country)
    if phonenumbers.number_type(number) in _NOT_MOBILE:
        return "not a mobile number (landline, toll-free or premium)"
    zones = number_time_zones.time_zones_for_number(number)
    country = phonenumbers.region_code_for_number(number)
    return PhoneInfo(
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        country if country and country.isalpha() else None,
        zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None,
    )


def _by_read_phone(raw: str, region: str) -> PhoneInfo | str:
    try:
        return read_phone(raw, region)
    except InvalidPhone as exc:
        return str(exc)


def _spellings(rng: random.Random) -> list[tuple[str, str]]:
    """Example numbers of every type in every region, written in many ways, some mangled."""
    cases = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.national_significant_number(example)
            code = str(example.country_code)
            mangled = list(national)
            mangled[rng.randrange(len(mangled))] = str(rng.randrange(10))
            for spelling in (
                phonenumbers.format_number(example, PhoneNumberFormat.E164),
                phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL),
                phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL),
                f"00{code} {national}",
                f"({national[:3]}) {national[3:]}",
                code + national,
                "+" + code + "".join(mangled),
                "0" + "".join(mangled),
                national[:-1],
            ):
                cases.append((spelling, rng.choice([region, region, "US", "FR", "GB", "BR"])))
    return cases


def test_read_phone_agrees_with_phonenumbers_everywhere() -> None:
    rng = random.Random(20261127)
    disagreements = []
    for raw, region in rng.sample(_spellings(rng), 3000):
        ours, theirs = _by_read_phone(raw, region), _by_phonenumbers(raw, region)
        if ours != theirs:
            disagreements.append((raw, region, ours, theirs))
    assert disagreements == []
