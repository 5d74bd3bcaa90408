from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from textcast.cli import app
from textcast.db import Database
from textcast.models import ConsentEvent, Contact, ContactList, ImportJob, ListMember

runner = CliRunner()


def test_import_adds_contacts_to_the_list_and_prints_a_summary(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "spring.csv"
    path.write_text("name,phone\nAna,0612345678\nBo,+33 6 12 34 56 78\nCy,nope\n")
    result = runner.invoke(
        app,
        [
            "contacts",
            "import",
            str(path),
            "--list",
            "Spring",
            "--default-region",
            "FR",
            "--consent-confirmed",
        ],
        env={"DATABASE_URL": database_url, "SECRET_KEY": "test-secret"},
    )
    assert result.exit_code == 0, result.output
    assert "Import 1 of spring.csv: completed" in result.output
    for label, count in (("created", 1), ("duplicates in the file", 1), ("rejected", 1)):
        assert any(
            label in line and line.rstrip(" │").endswith(str(count))
            for line in result.output.splitlines()
        )
    assert "/api/v1/imports/1/rejections.csv" in result.output
    database = Database(database_url)
    with database.read() as session:
        members = session.execute(
            select(ContactList.name, Contact.phone, Contact.first_name)
            .join(ListMember, ListMember.list_id == ContactList.id)
            .join(Contact, Contact.id == ListMember.contact_id)
        ).all()
    database.dispose()
    assert [tuple(m) for m in members] == [("Spring", "+33612345678", "Ana")]


def test_the_default_region_comes_from_the_settings(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    path.write_text("phone\n(201) 555-0123\n")
    result = runner.invoke(
        app,
        ["contacts", "import", str(path), "--consent-confirmed"],
        env={"DATABASE_URL": database_url, "SECRET_KEY": "s", "DEFAULT_REGION": "US"},
    )
    assert result.exit_code == 0, result.output
    database = Database(database_url)
    with database.read() as session:
        assert session.scalars(select(Contact.phone)).all() == ["+12015550123"]
    database.dispose()


def test_a_file_that_cannot_be_imported_exits_1_naming_the_problem(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "cities.csv"
    path.write_text("name,city\nAna,Paris\n")
    result = runner.invoke(
        app,
        ["contacts", "import", str(path), "--consent-confirmed"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 1
    assert "FILE: no phone column" in result.output


def test_an_import_that_fails_midway_exits_1_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('phone\n0612345678\n"' + "x" * 200_000 + "\n")
    result = runner.invoke(
        app,
        ["contacts", "import", str(path), "--default-region", "FR", "--consent-confirmed"],
        env={"DATABASE_URL": database_url, "SECRET_KEY": "s"},
    )
    assert result.exit_code == 1
    assert "import failed" in result.output and "line 3: malformed CSV" in result.output


def test_without_consent_confirmed_nothing_is_imported(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    path.write_text("phone\n(201) 555-0123\n")
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "s", "DEFAULT_REGION": "US"}
    refused = runner.invoke(app, ["contacts", "import", str(path)], env=env)
    assert refused.exit_code == 1
    assert "--consent-confirmed: confirm that these contacts agreed" in refused.output
    database = Database(database_url)
    with database.read() as session:
        assert session.scalars(select(ImportJob.id)).all() == []
        assert session.scalars(select(Contact.id)).all() == []
    confirmed = runner.invoke(
        app, ["contacts", "import", str(path), "--consent-confirmed"], env=env
    )
    assert confirmed.exit_code == 0, confirmed.output
    with database.read() as session:
        [evidence] = session.scalars(select(ConsentEvent.evidence)).all()
    database.dispose()
    assert evidence is not None
    assert evidence.startswith(
        "CSV import us.csv, consent confirmed by the command line at import 1"
    )
    assert evidence.endswith("UTC, line 2")
