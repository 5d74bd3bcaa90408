"""Campaigns: drafts and their lifecycle, launch into the queue, the plan shown before sending,
pricing, the send windows that time each recipient, and previews of a body for one contact."""
