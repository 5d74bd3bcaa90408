"""The sending engine: dispatcher, throttle, reconciliation."""
