"""The activities shown on a record's timeline, newest first."""

from __future__ import annotations


def timeline_for(account_id: int, record) -> list:
    """Activities for the record; meetings register here as they land."""
    return []
