"""Automations: flows that a sign-up, a keyword, an event, a date or a segment starts, whose
runs wait, branch, update the contact and send through the same outbox as campaigns.

`definitions` reads and checks a flow's JSON; `flows` is a flow's life (draft, versions, pause,
archive); `runs` enters contacts and ends runs; `events` takes in the events API's posts;
`engine` moves due runs on; `scans` finds the contacts date and segment triggers start. The
runtime's flow engine (`sending.flow_engine`) calls `scan_due` and `advance_due` on the leading
worker.
"""

from textcast.domain.flows.definitions import Definition as Definition
from textcast.domain.flows.definitions import Program as Program
from textcast.domain.flows.definitions import read_definition as read_definition
from textcast.domain.flows.definitions import to_json as to_json
from textcast.domain.flows.engine import Advanced as Advanced
from textcast.domain.flows.engine import advance_due as advance_due
from textcast.domain.flows.engine import any_due as any_due
from textcast.domain.flows.events import EventInput as EventInput
from textcast.domain.flows.events import Recorded as Recorded
from textcast.domain.flows.events import describe_event as describe_event
from textcast.domain.flows.events import event_counts as event_counts
from textcast.domain.flows.events import list_events as list_events
from textcast.domain.flows.events import record_event as record_event
from textcast.domain.flows.figures import FlowFigures as FlowFigures
from textcast.domain.flows.figures import FlowRow as FlowRow
from textcast.domain.flows.figures import RunView as RunView
from textcast.domain.flows.figures import StepFigures as StepFigures
from textcast.domain.flows.figures import flow_figures as flow_figures
from textcast.domain.flows.figures import get_run as get_run
from textcast.domain.flows.figures import list_flow_rows as list_flow_rows
from textcast.domain.flows.figures import list_runs as list_runs
from textcast.domain.flows.figures import run_history as run_history
from textcast.domain.flows.flows import Changed as Changed
from textcast.domain.flows.flows import Landing as Landing
from textcast.domain.flows.flows import archive_flow as archive_flow
from textcast.domain.flows.flows import create_flow as create_flow
from textcast.domain.flows.flows import current_definition_json as current_definition_json
from textcast.domain.flows.flows import delete_flow as delete_flow
from textcast.domain.flows.flows import edit_flow as edit_flow
from textcast.domain.flows.flows import get_flow as get_flow
from textcast.domain.flows.flows import landings_on as landings_on
from textcast.domain.flows.flows import list_flows as list_flows
from textcast.domain.flows.flows import move_runs as move_runs
from textcast.domain.flows.flows import pause_flow as pause_flow
from textcast.domain.flows.flows import program_of as program_of
from textcast.domain.flows.flows import publish_flow as publish_flow
from textcast.domain.flows.flows import resume_flow as resume_flow
from textcast.domain.flows.flows import versions_of as versions_of
from textcast.domain.flows.runs import Entrant as Entrant
from textcast.domain.flows.runs import end_runs as end_runs
from textcast.domain.flows.runs import enter as enter
from textcast.domain.flows.runs import enter_many as enter_many
from textcast.domain.flows.runs import on_keyword as on_keyword
from textcast.domain.flows.runs import on_list_joined as on_list_joined
from textcast.domain.flows.runs import on_subscribed as on_subscribed
from textcast.domain.flows.runs import on_subscribed_many as on_subscribed_many
from textcast.domain.flows.scans import scan_due as scan_due
from textcast.domain.flows.scans import scans_needed as scans_needed
from textcast.domain.flows.templates import TEMPLATES as TEMPLATES
from textcast.domain.flows.templates import FlowTemplate as FlowTemplate
from textcast.domain.flows.templates import template as template
