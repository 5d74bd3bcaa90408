"""textcast: self-hosted SMS marketing campaigns on Sinch."""

__version__ = "0.1.0"
