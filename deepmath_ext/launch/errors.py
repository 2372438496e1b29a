"""The one error type the launcher raises: its message is the single line the user sees."""

from __future__ import annotations


class LaunchError(Exception):
    """A recipe cannot be composed, validated or launched; str(error) says why in one line."""
