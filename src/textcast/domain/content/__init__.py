"""What a text says: templates with merge fields, GSM-7/UCS-2 encoding and parts, short links,
and the rendering that turns a campaign's template into what its recipients receive."""
