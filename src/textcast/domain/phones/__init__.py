"""Phone numbers: the one parser (E.164, country, type), masking for logs, and the geography
(time zones, US area codes) that says where a recipient is."""
