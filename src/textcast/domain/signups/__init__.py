"""Audience growth: sign-up forms and list keywords, which collect consent themselves, and the
sign-ups they start (double or single opt-in) with their evidence kept verbatim."""

from textcast.domain.signups.signups import (
    ALREADY_SUBSCRIBED as ALREADY_SUBSCRIBED,
)
from textcast.domain.signups.signups import (
    CAP_REACHED as CAP_REACHED,
)
from textcast.domain.signups.signups import (
    ONE_PER_DAY as ONE_PER_DAY,
)
from textcast.domain.signups.signups import (
    CapReached as CapReached,
)
from textcast.domain.signups.signups import (
    SignupPolicy as SignupPolicy,
)
from textcast.domain.signups.signups import (
    SignupRequest as SignupRequest,
)
from textcast.domain.signups.signups import (
    cancel_pending as cancel_pending,
)
from textcast.domain.signups.signups import (
    confirm_latest as confirm_latest,
)
from textcast.domain.signups.signups import (
    expire_due as expire_due,
)
from textcast.domain.signups.signups import (
    record_cap_alert as record_cap_alert,
)
from textcast.domain.signups.signups import (
    start_signup as start_signup,
)
from textcast.domain.signups.signups import (
    subscribe as subscribe,
)
