"""What a save of a meeting asks for, already typed: one input for every front end.

The desktop scheduler and the phone flow build it from their form (webapp.meetings.forms),
the JSON API from its body (webapp.api.meetings), an edit from the meeting itself
(MeetingInput.from_meeting). Everything after that is the one save pipeline
(webapp.meetings.pipeline).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

MAX_DURATION = timedelta(days=7)
MAX_ATTENDEES = 100


@dataclasses.dataclass
class MeetingInput:
    """What the scheduler (form, API or mobile) asks for, already typed."""

    title: str
    start: datetime | None
    end: datetime | None
    timezone: str
    location_kind: str = "none"
    location_value: str | None = None
    meeting_type_id: int | None = None
    description_html: str = ""
    internal_note_html: str = ""
    include_description_in_reminders: bool = False
    hide_guest_list: bool = False
    #: ("contact" | "user", id)
    attendees: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    #: (amount, unit)
    reminders: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    #: The account's default reminders the form was opened with (new meetings, S7). One of
    #: them that would already be due is left out (named in `skipped_reminders`) instead
    #: of refused: a meeting booked for later today keeps its form's defaults.
    default_reminders: frozenset[tuple[int, str]] = frozenset()
    skipped_reminders: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    #: (record_type, id)
    associations: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    host_id: int | None = None
    #: B2: book through this meeting rotation (new meetings only).
    rotation_id: int | None = None
    #: The member the scheduler suggested; a host equal to it (or none) is picked again at
    #: save, any other host is an override that must be an available member.
    suggested_host_id: int | None = None
    #: With location_kind "video": "jitsi", "zoom", "google_meet" or "app:<id>".
    video_provider: str | None = None
    #: Log a meeting that already happened (記錄會議): saved with its outcome, attendees,
    #: notes and associations, and never sent or synced, now or after an edit. Chosen
    #: when the meeting is made; an edit keeps the meeting's own.
    log_only: bool = False
    #: The outcome to save with (a logged meeting: Completed unless given); None keeps the
    #: meeting's (a new scheduled meeting: Scheduled).
    outcome: str | None = None
    #: Where the meeting was made (new meetings; an edit keeps the meeting's own): one of
    #: SOURCES in webapp.meetings.models. Reports count meetings by it.
    source: str = "scheduler"
    #: Contact rows validate() found for the attendees, reused to write them (one query).
    found_contacts: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    #: The rotation's ledger row of this booking (set by rotations.operations.book).
    rotation_pick: object = dataclasses.field(default=None, repr=False, compare=False)
    #: How the rotation's pick reads a member's availability: (user, start, end) ->
    #: engine.Schedule; None: their own hours and rules (a scheduling page gives its own
    #: rules, #22).
    host_schedule: object = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def from_meeting(cls, meeting) -> MeetingInput:
        """The input that would save the meeting as it is: the base of an edit (the edit
        form's values, the API's PATCH). Only unsent reminders: sent ones stay on the
        meeting as history and are not asked for again."""
        return cls(
            title=meeting.title, start=meeting.start_at, end=meeting.end_at,
            timezone=meeting.timezone, location_kind=meeting.location_kind,
            location_value=meeting.location_value, meeting_type_id=meeting.meeting_type_id,
            description_html=meeting.description_html,
            internal_note_html=meeting.internal_note_html,
            include_description_in_reminders=meeting.include_description_in_reminders,
            hide_guest_list=meeting.hide_guest_list,
            attendees=[("contact", a.contact_id) if a.contact_id else ("user", a.user_id)
                       for a in meeting.attendees],
            reminders=[(r.amount, r.unit) for r in meeting.reminders if r.sent_at is None],
            associations=[(a.record_type, a.record_id) for a in meeting.associations],
            host_id=meeting.host_id,
            video_provider=meeting.conference_provider
            if meeting.location_kind == "video" else None,
            log_only=meeting.log_only)


Errors = dict[str, list[str]]


def add_error(errors: Errors, field: str, message) -> None:
    """Add message to the field's errors."""
    errors.setdefault(field, []).append(str(message))
