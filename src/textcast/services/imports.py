"""Contact imports' use cases: start one (a pending job, audited) and run it to its end.

Where the file comes from (an upload spooled to disk, a path on the command line), and whether
the run happens in the background, is the caller's business.
"""

from __future__ import annotations

from pathlib import Path

from textcast.db import Database
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import CLI, Actor
from textcast.domain.imports import jobs
from textcast.models import ImportJob


def start_import(
    database: Database,
    actor: Actor,
    *,
    path: Path,
    filename: str,
    default_region: str,
    consent_confirmed: bool,
    list_name: str | None = None,
) -> ImportJob:
    """A pending job for the file at `path`; InvalidInput (and no job) when it cannot work or
    `actor` did not confirm that these contacts agreed to receive marketing texts."""
    with database.write() as session:
        job = jobs.start_import(
            session,
            path=path,
            filename=filename,
            default_region=default_region,
            consent_confirmed=consent_confirmed,
            list_name=list_name,
        )
        audit.record(session, actor, "import.create", f"import:{job.id}", filename=job.filename)
    return job


def confirmer(actor: Actor) -> str:
    """Who confirmed an import's consent, as its contacts' consent evidence names them."""
    return "the command line" if actor == CLI else actor.label


def run_import(
    database: Database,
    import_id: int,
    path: Path,
    secret: bytes,
    *,
    on_progress: jobs.ProgressCallback | None = None,
    confirmed_by: Actor | None = None,
) -> ImportJob:
    """Run a pending job to its end, in transactions of its own; a failure is recorded on the
    job, not raised. `on_progress` hears after each commit. `confirmed_by`: who started it,
    confirming consent; each contact's consent evidence names them."""
    return jobs.run_import(
        database,
        import_id,
        path,
        secret,
        on_progress=on_progress,
        confirmed_by=None if confirmed_by is None else confirmer(confirmed_by),
    )
