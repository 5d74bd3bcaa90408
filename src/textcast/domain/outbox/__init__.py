"""The outbox: the sending engine's side of the database. Claims due messages into batches,
screens them (opt-outs, send windows, budget) and records what the provider made of each batch."""
