"""Sinch's regional hosts for service-plan auth. A service plan only works in its own region."""

from __future__ import annotations

REGIONS = ("us", "eu", "au", "br", "ca")


def base_url_for_region(region: str) -> str:
    key = region.strip().lower()
    if key not in REGIONS:
        raise ValueError(f"unknown Sinch region {region!r}; valid regions: {', '.join(REGIONS)}")
    return f"https://{key}.sms.api.sinch.com"
