"""A/B tests: a campaign's 2-5 texts (or 2-3 send times) tried on a test pool drawn from its
audience, and the winner sent to the rest."""
