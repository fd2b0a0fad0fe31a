"""Scheduling pages (issue #22): a contact picks a free time on a public page and books a
real CRM meeting through the one save pipeline; a signed manage link reschedules or
cancels it.

The interface other parts build on (page22: the HTML; prop22: proposed times, reports)
------------------------------------------------------------------------------------

Models (webapp.booking.models; migration 0017_book22):
- SchedulingPage: account_id, owner_id (owner), kind ("one_on_one" | "round_robin" |
  "group"), title, slug (globally unique), durations [minutes], location_kind ("phone" |
  "address" | "video" | "custom") + location_value (address / custom text / video
  provider key, default "jitsi"), questions {"phone","company","note": bool, "custom":
  [{"key","label","required"}]} (properties `asks`, `custom_questions`), rules
  (buffer_before_minutes, buffer_after_minutes, min_notice_minutes, horizon_days,
  max_per_day, slot_interval_minutes), meeting_type_id, reminders ([[amount, unit]] or None:
  the account's defaults), rotation_id (round robin), host_ids (group: every host, owner
  first; others [owner_id]), paused, created_at, updated_at.
- Booking: account_id, page_id (page), meeting_id (meeting), contact_id, token_hash (sha256
  of the manage token), answers {"name","email","phone","company","note","custom":{}},
  timezone (the visitor's), status ("booked" | "rescheduled" | "canceled"), created_at.
  No-show per page (prop22): join Booking.meeting_id to Meeting.outcome == "no_show".
- Meetings booked here have Meeting.source == "scheduling_page".

Pages (webapp.booking.operations; flush, never commit; every query takes the account):
- pages(account_id, owner_id=None) -> list[SchedulingPage]
- get_page(account_id, page_id) -> SchedulingPage | None
- public_page(slug) -> SchedulingPage | None   (None for unknown AND paused: same 404)
- create_page(account, actor, values: dict) -> (page | None, Errors)
- update_page(account, actor, page, values: dict) -> Errors
- delete_page(page) -> None
- page_hosts(page) -> list[User]   (round robin: the rotation's eligible members)
  values keys: title, slug, kind, durations, location_kind, location_value, questions,
  buffer_before_minutes, buffer_after_minutes, min_notice_minutes, horizon_days,
  max_per_day, slot_interval_minutes, meeting_type_id, reminders, rotation_id, host_ids,
  paused. Errors: {field: [message]}.

Slots (webapp.booking.slots; read only):
- free_slots(page, first_day, last_day, zone, duration, now=None) -> list[datetime]
  (UTC instants, sorted; days are the visitor's local days in `zone`)
- by_day(slots, zone) -> dict[date, list[datetime]]   (for the month calendar / day list)
- MAX_DAYS: the widest range one call answers.

Booking (webapp.booking.operations):
- BookingRequest(start, duration, timezone, name, email, answers={}, honeypot="")
- book(page, request, key=None, fingerprint="") -> BookingResult; the caller commits, then
  result.after_commit(). result.ok / .taken (the slot is no longer free: show fresh slots)
  / .errors {field: [msg]} / .fake (honeypot: show success, nothing made) / .replayed
  (idempotency) / .booking / .meeting / .manage_url. KeyReused is raised for a key sent
  with another body.
- booking_by_token(token) -> Booking | None
- manage_url(booking) -> str   absolute: BASE_URL + "/book/manage/<token>" (page22 serves
  that path: GET shows the booking, reschedule and cancel forms)
- reschedule(booking, request-like start/duration/timezone) -> BookingResult (same UID,
  SEQUENCE raised; .too_late when inside the page's minimum notice)
- cancel(booking) -> BookingResult (.too_late likewise)
- check_answers(page, name, email, answers) -> Errors (what the form must show)

JSON API (webapp.booking.api, in the API blueprint and the OpenAPI document):
public GET /api/v1/scheduling-pages/{slug}/slots, POST .../{slug}/bookings,
POST .../bookings/{token}/reschedule, .../cancel; authenticated CRUD under
/api/v1/scheduling-pages.
"""
