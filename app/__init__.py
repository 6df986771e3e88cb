"""PhotoSeek: a desktop photo organizer whose search understands what is in the pictures."""

__version__ = "0.1.0"
