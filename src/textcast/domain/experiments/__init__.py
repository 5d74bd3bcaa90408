"""A/B tests: a campaign's 2-5 texts (or 2-3 send times) tried on a test pool drawn from its
audience, and the winner sent to the rest.

The campaign under test holds no messages itself: each variant's share of the pool is a
campaign under it (`Campaign.parent_id`, `Campaign.variant`), sent by the dispatcher like any
other, and so is the rest of the audience, a draft until the decision launches it.

The names below are the context's public API, for the services and the adapters.
"""

from textcast.domain.experiments.decisions import advance_tests as advance_tests
from textcast.domain.experiments.decisions import decide as decide
from textcast.domain.experiments.decisions import note_cancelled as note_cancelled
from textcast.domain.experiments.launches import launch_test as launch_test
from textcast.domain.experiments.launches import unlaunch_test as unlaunch_test
from textcast.domain.experiments.plans import AbTestPlan as AbTestPlan
from textcast.domain.experiments.plans import VariantPlan as VariantPlan
from textcast.domain.experiments.plans import plan_test as plan_test
from textcast.domain.experiments.results import AbResults as AbResults
from textcast.domain.experiments.results import results_of as results_of
from textcast.domain.experiments.variants import LABELS as LABELS
from textcast.domain.experiments.variants import AbTestDraft as AbTestDraft
from textcast.domain.experiments.variants import ab_test_of as ab_test_of
from textcast.domain.experiments.variants import copy_test as copy_test
from textcast.domain.experiments.variants import (
    follow_first_variant as follow_first_variant,
)
from textcast.domain.experiments.variants import remove_test as remove_test
from textcast.domain.experiments.variants import set_test as set_test
from textcast.domain.experiments.variants import variants_of as variants_of
