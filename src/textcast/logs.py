"""Logging set-up for the CLI: one line per event, no phone numbers or bodies ever."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # httpx logs full URLs at INFO; ours already say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
