"""Exceptions that keraslab raises for bad input, each printable as one clear line."""


class KeraslabError(Exception):
    """Base class: its message is a complete one-line explanation for the user."""


class ConfigError(KeraslabError):
    """A run configuration (or a CLI option) holds an invalid value."""


class DatasetError(KeraslabError):
    """A dataset is unknown, missing, unreadable or malformed."""


class SpecError(KeraslabError):
    """A layer stack (notation, JSON or parameters) is invalid.

    ``position`` is the character offset in the notation, ``layer`` the 0-based
    index of the offending layer, when known.
    """

    def __init__(self, message: str, *, position: int | None = None, layer: int | None = None):
        super().__init__(message)
        self.position = position
        self.layer = layer


class RunStoreError(KeraslabError):
    """A run directory is missing or cannot be read or written."""
