"""Campaigns: drafts and their lifecycle, launch into the queue, the plan shown before sending,
pricing, the send windows that time each recipient, and previews of a body for one contact.

The names below are the context's public API, for the services and the adapters
(`from textcast.domain import campaigns`, then `campaigns.launch_campaign(...)`). Other domain
contexts import from the defining modules instead, so that no context's start-up waits on
another's package.
"""

from textcast.domain.campaigns.drafts import MAX_BODY_CHARS as MAX_BODY_CHARS
from textcast.domain.campaigns.drafts import MAX_NAME_CHARS as MAX_NAME_CHARS
from textcast.domain.campaigns.drafts import CampaignDraft as CampaignDraft
from textcast.domain.campaigns.drafts import create_campaign as create_campaign
from textcast.domain.campaigns.drafts import duplicate_campaign as duplicate_campaign
from textcast.domain.campaigns.drafts import known_fields as known_fields
from textcast.domain.campaigns.drafts import new_reference as new_reference
from textcast.domain.campaigns.editing import Deleted as Deleted
from textcast.domain.campaigns.editing import Edited as Edited
from textcast.domain.campaigns.editing import delete_campaign as delete_campaign
from textcast.domain.campaigns.editing import edit_campaign as edit_campaign
from textcast.domain.campaigns.editing import editable as editable
from textcast.domain.campaigns.launch import launch_campaign as launch_campaign
from textcast.domain.campaigns.launch import test_send as test_send
from textcast.domain.campaigns.lifecycle import PAUSABLE as PAUSABLE
from textcast.domain.campaigns.lifecycle import cancel_campaign as cancel_campaign
from textcast.domain.campaigns.lifecycle import (
    complete_finished_campaigns as complete_finished_campaigns,
)
from textcast.domain.campaigns.lifecycle import pause_campaign as pause_campaign
from textcast.domain.campaigns.lifecycle import resume_campaign as resume_campaign
from textcast.domain.campaigns.lifecycle import set_budget as set_budget
from textcast.domain.campaigns.lifecycle import start_due_campaigns as start_due_campaigns
from textcast.domain.campaigns.planning import Plan as Plan
from textcast.domain.campaigns.planning import Policy as Policy
from textcast.domain.campaigns.planning import plan as plan
from textcast.domain.campaigns.queries import family_ids as family_ids
from textcast.domain.campaigns.queries import get_campaign as get_campaign
from textcast.domain.campaigns.queries import list_campaigns as list_campaigns
from textcast.domain.campaigns.queries import refuse_part_of_test as refuse_part_of_test
from textcast.domain.campaigns.quotas import QUOTA_WINDOW as QUOTA_WINDOW
from textcast.domain.campaigns.quotas import (
    recipients_launched_since as recipients_launched_since,
)
