"""What comes back from the provider: callback event types (the port a provider adapter fills),
the webhook inbox that stores and applies them in group commits, keywords and the replies they
send, and the inbound messages and conversations people see."""
