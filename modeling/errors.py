"""Exceptions a user can cause, each with a message that says what, where and how to fix it."""

from __future__ import annotations


class VbcError(Exception):
    """Base class for every error the product reports to a user (CLI exit code 2, app message)."""


class SchemaError(VbcError):
    """A source file lacks a required column, or a column cannot be read as its expected type."""


class DatasetError(VbcError):
    """A dataset folder is missing, incomplete, or its manifest does not match its files."""


class ParameterError(VbcError):
    """A parameter is out of range, or a parameter table has no row for the requested key."""


class StoreError(VbcError):
    """The workspace store cannot be opened or read: busy (another process holds it), damaged,
    not a store at all, or not writable."""


class StoreBusyError(StoreError):
    """Another process holds the workspace store for writing; the work can be retried shortly."""


class RecordNotFoundError(StoreError):
    """The workspace store has no scenario, model version or run with the id or name asked for."""


class SettingsError(VbcError):
    """The deployment's settings file cannot be read or holds a value that is not allowed."""
