"""Flow use cases: create (blank or from a template), edit (a new version once published),
publish, pause, resume, archive, delete, move runs to the current version; post an event.

Each opens its own transaction and writes its audit entry in it, so a refused act leaves
neither a change nor an entry. Waking the flow engine after an event or a publish is the
caller's (the runtime's `wake_flows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from textcast.db import Database
from textcast.domain import flows
from textcast.domain.accounts import audit
from textcast.domain.accounts.audit import Actor
from textcast.domain.campaigns.drafts import known_fields
from textcast.models import Flow, FlowVersion


@dataclass(frozen=True, slots=True)
class FlowView:
    """A flow with what its pages and the API show: definition, versions, figures."""

    flow: Flow
    definition: dict[str, Any]
    version: int | None
    """The number of the version new runs start on; None for a draft."""
    versions: list[FlowVersion]
    figures: flows.FlowFigures


def known_attributes(session: Session) -> set[str]:
    """What a branch, a wait or a merge field may name: built-in fields and every attribute
    some contact has."""
    return known_fields(session)


def create(
    database: Database,
    actor: Actor,
    name: str,
    definition: object,
    *,
    publish: bool = False,
    reserved_words: Mapping[str, str] | None = None,
) -> flows.Changed:
    """`reserved_words`: the keywords the settings in effect give a meaning
    (`services.keywords.keyword_settings(settings).reserved`): a flow's keyword may not be one."""
    with database.write() as session:
        changed = flows.create_flow(
            session,
            name,
            definition,
            known_attributes(session),
            publish=publish,
            reserved=reserved_words,
        )
        audit.record(session, actor, "flow.create", _target(changed.flow.id), name=name)
        if changed.version is not None:
            audit.record(session, actor, "flow.publish", _target(changed.flow.id), version=1)
    return changed


def create_from_template(
    database: Database, actor: Actor, key: str, name: str | None = None
) -> flows.Changed:
    """A draft copy of a template: its attributes need not exist yet (checked on publish)."""
    chosen = flows.template(key)
    with database.write() as session:
        changed = flows.create_flow(session, name or chosen.name, chosen.definition)
        audit.record(
            session,
            actor,
            "flow.create",
            _target(changed.flow.id),
            name=changed.flow.name,
            template=key,
        )
    return changed


def edit(
    database: Database,
    actor: Actor,
    flow_id: int,
    *,
    name: str | None = None,
    definition: object | None = None,
    move_runs: bool = False,
    reserved_words: Mapping[str, str] | None = None,
) -> flows.Changed:
    """Rename or change; a published flow gets a new version, and with `move_runs` its
    runs in progress move onto it (as `move_runs` previews)."""
    with database.write() as session:
        changed = flows.edit_flow(
            session,
            flow_id,
            name=name,
            definition=definition,
            known_attributes=known_attributes(session),
            reserved=reserved_words,
        )
        detail: dict[str, Any] = {}
        if changed.version is not None:
            detail["version"] = changed.version.number
        audit.record(session, actor, "flow.update", _target(flow_id), **detail)
        if move_runs and changed.version is not None:
            _move(session, actor, flow_id)
    return changed


def publish(
    database: Database,
    actor: Actor,
    flow_id: int,
    reserved_words: Mapping[str, str] | None = None,
) -> flows.Changed:
    with database.write() as session:
        changed = flows.publish_flow(session, flow_id, known_attributes(session), reserved_words)
        audit.record(session, actor, "flow.publish", _target(flow_id), version=1)
    return changed


def pause(database: Database, actor: Actor, flow_id: int) -> Flow:
    with database.write() as session:
        flow = flows.pause_flow(session, flow_id)
        audit.record(session, actor, "flow.pause", _target(flow_id))
    return flow


def resume(database: Database, actor: Actor, flow_id: int) -> Flow:
    with database.write() as session:
        flow = flows.resume_flow(session, flow_id)
        audit.record(session, actor, "flow.resume", _target(flow_id))
    return flow


def archive(database: Database, actor: Actor, flow_id: int) -> int:
    """Archived; its runs in progress end. How many ended."""
    with database.write() as session:
        ended = flows.archive_flow(session, flow_id)
        audit.record(session, actor, "flow.archive", _target(flow_id), runs_ended=ended)
    return ended


def delete(database: Database, actor: Actor, flow_id: int) -> str:
    """A flow nothing has run through; its name."""
    with database.write() as session:
        name = flows.delete_flow(session, flow_id)
        audit.record(session, actor, "flow.delete", _target(flow_id), name=name)
    return name


def preview_move(database: Database, flow_id: int) -> list[flows.Landing]:
    """Where each older version's runs would land on the current one; nothing changes."""
    with database.read() as session:
        return flows.move_runs(session, flow_id)


def preview_edit(database: Database, flow_id: int, definition: object) -> list[flows.Landing]:
    """Where the runs in progress would land were `definition` saved as a new version and
    they moved onto it (`edit` with `move_runs`); nothing changes. An unreadable definition
    raises `InvalidInput`, as saving it would."""
    with database.read() as session:
        checked = flows.read_definition(definition, known_attributes(session))
        return flows.landings_on(session, flow_id, checked)


def move(database: Database, actor: Actor, flow_id: int) -> list[flows.Landing]:
    with database.write() as session:
        return _move(session, actor, flow_id)


def _move(session: Session, actor: Actor, flow_id: int) -> list[flows.Landing]:
    """Runs on older versions onto the current one, audited with how many moved."""
    moved = flows.move_runs(session, flow_id, apply=True)
    runs = sum(landing.runs for landing in moved)
    audit.record(session, actor, "flow.move_runs", _target(flow_id), runs=runs)
    return moved


def view(database: Database, flow_id: int) -> FlowView:
    with database.read() as session:
        flow = flows.get_flow(session, flow_id)
        versions = flows.versions_of(session, flow_id)
        current = next((v.number for v in versions if v.id == flow.version_id), None)
        return FlowView(
            flow=flow,
            definition=flows.current_definition_json(session, flow),
            version=current,
            versions=versions,
            figures=flows.flow_figures(session, flow_id),
        )


def post_event(
    database: Database, given: flows.EventInput, default_region: str, secret: bytes
) -> flows.Recorded:
    """Stored once per idempotency key, acted on in the same transaction. Not audited: events
    are data, counted on the events page, not acts of a user."""
    with database.write() as session:
        return flows.record_event(session, given, default_region, secret)


def _target(flow_id: int) -> str:
    return f"flow:{flow_id}"
