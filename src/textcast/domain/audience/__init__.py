"""The audience: contacts and their attributes, lists, segments, consent and opt-outs (kept as
keyed number hashes), erasure, list hygiene (numbers that fail for good become invalid), and the
lock an opt-out shares with the last check before a send."""
