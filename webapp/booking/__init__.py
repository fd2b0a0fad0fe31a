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
- page_hosts(page) -> list[User]   (round robin: the rotation's eligible members, in
  pick order; defined in slots, re-exported here)
  values keys: title, slug, kind, durations, location_kind, location_value, questions,
  buffer_before_minutes, buffer_after_minutes, min_notice_minutes, horizon_days,
  max_per_day, slot_interval_minutes, meeting_type_id, reminders, rotation_id, host_ids,
  paused. Errors: {field: [message]}.

Abuse (webapp.booking.operations):
- over_limit(request.remote_addr) -> None | retry_after seconds: counts one public request
  (BOOKING_RATE_LIMIT a minute per address, default 60; answer 429 + Retry-After).
  Tests: give each test client its own REMOTE_ADDR (tests/test_booking.py `client`), the
  count is per minute and shared across tests (in Redis with REDIS_URL).
- HONEYPOT = "website": the hidden form field / JSON key; filled -> book() returns .fake.
- public_page(slug) None for unknown and paused: answer both with the same 404.

Slots (webapp.booking.slots; read only):
- free_slots(page, first_day, last_day, zone, duration, now=None, hosts=None,
  exclude_meeting=None) -> list[datetime]  (exclude_meeting=booking.meeting_id on the
  manage page: the booking's own time counts as free)
  (UTC instants, sorted; days are the visitor's local days in `zone`)
- slot_hosts(page, hosts, start, end, now=None, external=None, exclude_meeting=None)
  -> the hosts free for [start, end) under the page's rules (round robin: the free ones;
  else all or none); the check book() repeats under the lock
- by_day(slots, zone) -> dict[date, list[datetime]]   (for the month calendar / day list)
- MAX_DAYS: the widest range one call answers.

Booking (webapp.booking.operations):
- BookingRequest(start, duration, timezone, name, email, answers={}, honeypot="")
- book(page, request, key=None, fingerprint="") -> BookingResult; the caller commits, then
  result.after_commit(). result.ok / .taken (the slot is no longer free: show fresh slots)
  / .errors {field: [msg]} / .fake (honeypot: show success, nothing made) / .replayed
  (idempotency) / .booking / .meeting / .manage_url. KeyReused is raised for a key sent
  with another body.
- lock_hosts(user_ids): take the hosts' booking locks (PG: SELECT ... FOR UPDATE; SQLite:
  the write lock) before re-checking a slot; held to the commit. Proposed times (prop22)
  should take it too, so a proposal and a page never book one host's slot twice.
- booking_by_token(token) -> Booking | None
- manage_url(booking) -> str   absolute: BASE_URL + "/book/manage/<token>" (page22 serves
  that path: GET shows the booking, reschedule and cancel forms)
- reschedule(booking, start, duration, timezone) -> BookingResult (same UID, SEQUENCE
  raised, outcome Rescheduled; .taken; .too_late when the booked start is inside the
  page's minimum notice; errors["booking"] when it was canceled)
- cancel(booking) -> BookingResult (.too_late likewise)
- check_answers(page, name, email, answers) -> Errors (what the form must show); answer
  keys: "phone", "company", "note" (only those the page asks), "custom": {key: text}.
  Error fields: name, email, start, duration, timezone, answers.<q>, answers.custom.<key>.
- booking_for_meeting(account_id, meeting_id), page_title_for(meeting),
  manage_url_for(meeting, contact_id): the meeting side (timeline, emails).
- Messages: TAKEN, TOO_LATE, CANCELED (lazy strings, translated).

Elsewhere: the contact's invitation/update/reminder emails carry "Reschedule or cancel:
<manage_url>" (webapp/delivery/messages.py); the record timeline item says "Booked
through <page title>" (webapp/timeline.py); a canceled meeting no longer counts as busy
(webapp/availability/settings.py parley_busy).

JSON API (webapp.booking.api, in the API blueprint and the OpenAPI document):
public GET /api/v1/scheduling-pages/{slug}/slots, POST .../{slug}/bookings,
POST .../bookings/{token}/reschedule, .../cancel; authenticated CRUD under
/api/v1/scheduling-pages.
"""
