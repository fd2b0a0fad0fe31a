"""The activities shown on a record's timeline, newest first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TimelinePage:
    items: list
    total: int
    #: webapp.meetings.outcomes.OutcomeCatalog of the account
    outcomes: object

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)


def timeline_for(account_id: int, record, limit: int = 20, offset: int = 0) -> TimelinePage:
    """Meetings associated with the record: a fixed number of queries, whatever the count."""
    from webapp.meetings import queries
    from webapp.meetings.outcomes import catalog

    items = queries.timeline_meetings(account_id, record.record_type, record.id,
                                          limit, offset)
    total = queries.count_timeline(account_id, record.record_type, record.id)
    return TimelinePage(items, total, catalog(account_id))
