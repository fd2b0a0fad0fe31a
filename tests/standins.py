"""Local stand-ins for internet services, speaking their documented wire formats:
an OAuth 2.0 authorization server (RFC 6749 + PKCE RFC 7636), the Google Calendar API v3
(events, calendarList, freeBusy) and Microsoft Graph (/me/events, /me/calendars,
calendarView, getSchedule). Each runs as a real HTTP
server on loopback; Parley's production adapters talk to them over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server

from tests.support import free_port


class Server:
    """Serve a Flask app in a thread on a free loopback port."""

    def __init__(self, app: Flask):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()


class Faults:
    """Responses to force on the next matching calls: (path-substring, status, headers)."""

    def __init__(self):
        self.queue: list[tuple[str, int, dict]] = []
        self.lock = threading.Lock()

    def add(self, path_part: str, status: int, headers: dict | None = None, times: int = 1):
        with self.lock:
            self.queue += [(path_part, status, headers or {})] * times

    def take(self):
        with self.lock:
            for i, (part, status, headers) in enumerate(self.queue):
                if part in request.path:
                    del self.queue[i]
                    body = {"error": {"code": status, "message": f"forced {status}"}}
                    response = jsonify(body)
                    response.status_code = status
                    response.headers.update(headers)
                    return response
        return None


class Provider:
    """Shared state of one provider's identity and calendar stand-ins."""

    def __init__(self, name: str, email: str):
        self.name, self.email = name, email
        self.client_id, self.client_secret = f"{name}-client", f"{name}-secret"
        self.codes: dict[str, dict] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refresh_calls = 0
        self.deny = False
        self.events: dict[str, dict] = {}
        #: Google Meet conferences by event id (conferenceData.createRequest).
        self.conferences: dict[str, dict] = {}
        self.busy: list[dict] = []
        self.calls: list[tuple[str, str, dict]] = []
        self.faults = Faults()
        self.lock = threading.Lock()
        #: Issue 23, incremental sync: every change (by Parley or by "another client",
        #: edit()/remove()) is numbered; a sync token is the number last seen. Tokens below
        #: oldest_token have expired (410); duplicate: the next sync answers with the same
        #: token again, so its changes are delivered twice.
        self.change_log: list[str] = []
        self.removed: dict[str, dict] = {}
        self.oldest_token = 0
        self.duplicate = False
        #: Push notifications (Google events.watch): open channels by id, channels.stop
        #: calls received, and the notifications Google would have posted, in order, as
        #: (address, headers): a test delivers them to the app (deliver_notifications).
        self.channels: dict[str, dict] = {}
        self.stopped: list[dict] = []
        self.notifications: list[tuple[str, dict]] = []
        #: Graph subscriptions: validate(url, token) posts the validation request to the
        #: app and returns the answer's text (a test sets it; None: Graph cannot reach it).
        self.validate = None
        #: #21, several calendars: the account's calendar list (Google calendarList
        #: entries / Graph calendar resources), the other events of each calendar by its
        #: id (add_event()), the calendar of each event Parley wrote, and calendars whose
        #: busy time the provider fails to compute.
        self.calendar_list: list[dict] = []
        self.calendar_events: dict[str, list[dict]] = {}
        self.event_calendar: dict[str, str] = {}
        self.failing_calendars: set[str] = set()

    def add_calendar(self, cid: str, name: str, *, primary: bool = False,
                     writable: bool = True, role: str | None = None) -> None:
        """A calendar on the account's list (both wire formats are kept: the Google
        stand-in reads summary/primary/accessRole, the Graph one name/isDefaultCalendar/
        canEdit). role: Google's accessRole (owner, writer, reader, freeBusyReader)."""
        role = role or ("owner" if writable else "reader")
        writable = role in ("owner", "writer")
        self.calendar_list.append({
            "kind": "calendar#calendarListEntry", "id": cid, "summary": name,
            "primary": primary, "accessRole": role,
            "name": name, "isDefaultCalendar": primary, "canEdit": writable})
        self.calendar_events.setdefault(cid, [])

    def add_event(self, cid: str, start: datetime, end: datetime, title: str = "Busy", *,
                  free: bool = False, all_day: bool = False) -> None:
        """Another client's event on calendar cid; free: shown as free (Google
        transparency "transparent", Graph showAs "free")."""
        self.calendar_events.setdefault(cid, []).append({
            "summary": title, "start": start, "end": end, "free": free, "all_day": all_day})

    def changed(self, eid: str) -> None:
        """Record a change of event eid and give it a new version (etag / changeKey)."""
        self.change_log.append(eid)
        version = f'"{len(self.change_log)}"'
        event = self.events.get(eid) or self.removed.get(eid)
        event["etag"] = version
        event["changeKey"] = f"ck{len(self.change_log)}"
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event["updated"] = event["lastModifiedDateTime"] = now
        for channel in list(self.channels.values()):
            if self.sees(channel, eid):
                self.notify(channel, "exists")

    def sees(self, channel: dict, eid: str) -> bool:
        """Whether a channel hears of a change of event eid. A Google channel watches one
        calendar (events.watch on calendarId); a Graph subscription to me/events covers
        every calendar of the mailbox ("changes to all events in a user's mailbox"), one
        to me/calendars/{id}/events only that calendar."""
        watched = channel.get("calendar")
        if watched is None:
            return True
        if channel.get("kind") == "graph":
            default = next((c["id"] for c in self.calendar_list if c.get("isDefaultCalendar")),
                           "AAMkDefault")
            return (self.event_calendar.get(eid) or default) == watched
        return self.event_calendar.get(eid, "primary") == watched

    def notify(self, channel: dict, state: str) -> None:
        """Record the POST Google makes to a channel's address: no body, the channel and
        resource in X-Goog-* headers (the "sync" message first, then "exists"); or the one
        Graph makes to a subscription's: a JSON "value" list of changes with clientState."""
        if channel.get("kind") == "graph":
            if state != "sync":
                self.notifications.append((channel["notificationUrl"], {"value": [{
                    "subscriptionId": channel["id"], "clientState": channel["clientState"],
                    "changeType": "updated", "resource": channel["resource"],
                    "subscriptionExpirationDateTime": channel["expirationDateTime"],
                    "tenantId": "t1"}]}))
            return
        channel["messages"] += 1
        expires = datetime.fromtimestamp(int(channel["expiration"]) / 1000, UTC)
        self.notifications.append((channel["address"], {
            "X-Goog-Channel-ID": channel["id"], "X-Goog-Channel-Token": channel["token"],
            "X-Goog-Channel-Expiration": expires.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-URI": channel["resourceUri"],
            "X-Goog-Resource-State": state, "X-Goog-Message-Number": str(channel["messages"])}))

    def edit(self, eid: str, **fields) -> None:
        """Another client (the provider's own calendar app) changes the event."""
        self.events[eid].update(fields)
        self.changed(eid)

    def remove(self, eid: str) -> None:
        """Another client deletes the event."""
        self.removed[eid] = self.events.pop(eid)
        self.changed(eid)

    def since(self, token: int) -> list[str]:
        """Ids changed after token, each once, in order of their last change."""
        return list(dict.fromkeys(reversed(self.change_log[token:])))[::-1]

    def issue(self) -> dict:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": 3600, "scope": "calendar"}

    def authorized(self) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.access_tokens


def oauth_app(p: Provider, app: Flask, prefix: str = "/oauth") -> None:
    """The authorization server routes: /authorize (auto-consent), /token, /userinfo."""

    @app.get(f"{prefix}/authorize")
    def authorize():
        args = request.args
        if args.get("client_id") != p.client_id or args.get("response_type") != "code":
            return jsonify(error="invalid_request"), 400
        target = args["redirect_uri"]
        if p.deny:
            return redirect(f"{target}?{urlencode({'error': 'access_denied', 'state': args.get('state', '')})}")
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return redirect(f"{target}?{urlencode({'error': 'invalid_request', 'state': args.get('state', '')})}")
        code = secrets.token_urlsafe(16)
        p.codes[code] = {"redirect_uri": target, "challenge": args["code_challenge"]}
        return redirect(f"{target}?{urlencode({'code': code, 'state': args.get('state', '')})}")

    @app.post(f"{prefix}/token")
    def token():
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization:
            client_id, client_secret = request.authorization.username, request.authorization.password
        if (client_id, client_secret) != (p.client_id, p.client_secret):
            return jsonify(error="invalid_client"), 401
        fault = p.faults.take()
        if fault is not None:
            return fault
        if form.get("grant_type") == "authorization_code":
            grant = p.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return jsonify(error="invalid_grant"), 400
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.decode().rstrip("=") != grant["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            return jsonify(p.issue())
        if form.get("grant_type") == "refresh_token":
            with p.lock:
                p.refresh_calls += 1
            if form.get("refresh_token") not in p.refresh_tokens:
                return jsonify(error="invalid_grant"), 400
            fresh = p.issue()
            fresh.pop("refresh_token")
            return jsonify(fresh)
        return jsonify(error="unsupported_grant_type"), 400

    @app.get(f"{prefix}/userinfo")
    def userinfo():
        if not p.authorized():
            return jsonify(error="invalid_token"), 401
        return jsonify(sub="1", email=p.email)


def google_app(p: Provider) -> Flask:
    app = Flask("google-standin")
    oauth_app(p, app)

    def guard():
        p.calls.append((request.method, request.path, dict(request.args)))
        fault = p.faults.take()
        if fault is not None:
            return fault
        if not p.authorized():
            return jsonify(error={"code": 401, "message": "Invalid Credentials"}), 401
        return None

    def own(cal: str) -> str:
        """A calendar id as stored: the primary calendar's id is also "primary"."""
        primary = next((c["id"] for c in p.calendar_list if c.get("primary")), p.email)
        return "primary" if cal in ("primary", primary) else cal

    @app.post("/calendar/v3/calendars/<cal>/events")
    def insert(cal):
        if (denied := guard()) is not None:
            return denied
        body = request.get_json()
        if body["id"] in p.events:
            return jsonify(error={"code": 409, "message": "The requested identifier already exists."}), 409
        p.events[body["id"]] = body
        p.event_calendar[body["id"]] = own(cal)
        conference(body)
        p.changed(body["id"])
        return jsonify({**body, "status": "confirmed", "htmlLink": "https://calendar.example/e"})

    def conference(event: dict) -> None:
        """conferenceData.createRequest (only with conferenceDataVersion=1): "pending" at
        first, "success" with a Meet entry point when the event is read again."""
        wanted = (event.get("conferenceData") or {}).get("createRequest")
        if request.args.get("conferenceDataVersion") != "1" or not wanted:
            event.pop("conferenceData", None) if wanted else None
            return
        current = p.conferences.get(event["id"])
        if current is None or current["requestId"] != wanted["requestId"]:
            code = secrets.token_hex(5)
            current = p.conferences[event["id"]] = {
                "requestId": wanted["requestId"], "reads": 0,
                "uri": f"https://meet.google.com/{code[:3]}-{code[3:7]}-{code[7:]}"}
        event["conferenceData"] = conference_data(current)

    def conference_data(current: dict) -> dict:
        request_part = {"requestId": current["requestId"],
                        "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        if current["reads"] == 0:
            return {"createRequest": {**request_part, "status": {"statusCode": "pending"}}}
        return {"createRequest": {**request_part, "status": {"statusCode": "success"}},
                "conferenceId": current["uri"].rsplit("/", 1)[1],
                "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
                "entryPoints": [{"entryPointType": "video", "uri": current["uri"],
                                 "label": current["uri"][8:]}]}

    @app.route("/calendar/v3/calendars/<cal>/events/<eid>", methods=["GET", "PATCH", "DELETE"])
    def event(cal, eid):
        if (denied := guard()) is not None:
            return denied
        if eid not in p.events or p.event_calendar.get(eid, "primary") != own(cal):
            return jsonify(error={"code": 404, "message": "Not Found"}), 404
        if request.method == "DELETE":
            p.remove(eid)
            p.conferences.pop(eid, None)
            return "", 204
        if request.method == "GET":
            if eid in p.conferences:
                p.conferences[eid]["reads"] += 1
                p.events[eid]["conferenceData"] = conference_data(p.conferences[eid])
            return jsonify(p.events[eid])
        if request.headers.get("If-Match") not in (None, p.events[eid].get("etag")):
            return jsonify(error={"code": 412, "message": "Precondition Failed",
                                  "errors": [{"reason": "conditionNotMet"}]}), 412
        p.events[eid].update(request.get_json())
        conference(p.events[eid])
        p.changed(eid)
        return jsonify(p.events[eid])

    @app.get("/calendar/v3/calendars/<cal>/events")
    def events_list(cal):
        """events.list: a full sync (no syncToken) lists every event; an incremental one
        what changed since the token, deletions as status "cancelled"; a page holds
        maxResults (default 250) and the last page carries nextSyncToken. An expired token
        answers 410 (fullSyncRequired)."""
        if (denied := guard()) is not None:
            return denied
        if own(cal) != "primary" and p.calendar_list and \
                cal not in {c["id"] for c in p.calendar_list}:
            return jsonify(error={"code": 404, "message": "Not Found",
                                  "errors": [{"domain": "global", "reason": "notFound"}]}), 404
        token = request.args.get("syncToken")
        if token is not None and (not token.isdigit() or int(token) < p.oldest_token):
            return jsonify(error={"code": 410, "message": "Sync token is no longer valid, "
                                  "a full sync is required.",
                                  "errors": [{"domain": "calendar", "reason": "fullSyncRequired",
                                              "message": "Sync token is no longer valid, a "
                                              "full sync is required."}]}), 410
        if token is None:
            ids = list(p.events)
        else:
            ids = p.since(int(token))
        ids = [i for i in ids if p.event_calendar.get(i, "primary") == own(cal)]
        items = [p.events[i] if i in p.events else
                 {"kind": "calendar#event", "id": i, "status": "cancelled",
                  "etag": p.removed[i]["etag"], "iCalUID": p.removed[i].get("iCalUID")}
                 for i in ids if i in p.events or i in p.removed]
        size = int(request.args.get("maxResults", 250))
        start = int(request.args.get("pageToken", 0))
        page = {"kind": "calendar#events", "items": items[start:start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        else:
            page["nextSyncToken"] = token if (p.duplicate and token) else str(len(p.change_log))
            p.duplicate = False
        return jsonify(page)

    @app.post("/calendar/v3/calendars/<calendar_id>/events/watch")
    def watch(calendar_id):
        """events.watch: a web_hook channel (id at most 64 characters, unique; an https
        address; an optional token; params.ttl in seconds, default a week). Answers the
        channel with its opaque resourceId and expiration (ms since the epoch, as a
        string), then posts the "sync" message."""
        if (denied := guard()) is not None:
            return denied
        body = request.get_json() or {}
        cid, address = body.get("id") or "", body.get("address") or ""
        if body.get("type") not in ("web_hook", "webhook") or not cid or len(cid) > 64 \
                or not address.startswith("https://") or len(body.get("token") or "") > 256:
            return jsonify(error={"code": 400, "message": "Invalid channel",
                                  "errors": [{"reason": "invalidArgument"}]}), 400
        if own(calendar_id) != "primary" and \
                calendar_id not in {c["id"] for c in p.calendar_list}:
            return jsonify(error={"code": 404, "message": "Not Found",
                                  "errors": [{"domain": "global", "reason": "notFound"}]}), 404
        if cid in p.channels:
            return jsonify(error={"code": 400, "message": "Channel id not unique",
                                  "errors": [{"reason": "channelIdNotUnique"}]}), 400
        ttl = int((body.get("params") or {}).get("ttl", 604800))
        expiration = int(datetime.now(UTC).timestamp() * 1000) + min(ttl, 604800) * 1000
        resource = "rsc-" + hashlib.sha256(calendar_id.encode()).hexdigest()[:16]
        channel = {"kind": "api#channel", "id": cid, "resourceId": resource,
                   "resourceUri": f"{request.host_url}calendar/v3/calendars/{calendar_id}"
                                  "/events?alt=json",
                   "token": body.get("token") or "", "expiration": str(expiration)}
        p.channels[cid] = {**channel, "address": address, "messages": 0,
                           "calendar": own(calendar_id)}
        p.notify(p.channels[cid], "sync")
        return jsonify({k: v for k, v in channel.items() if k != "token" or v})

    @app.post("/calendar/v3/channels/stop")
    def stop_channel():
        """channels.stop: {id, resourceId}; an empty answer. Unknown: 404."""
        if (denied := guard()) is not None:
            return denied
        body = request.get_json() or {}
        p.stopped.append(body)
        channel = p.channels.get(body.get("id"))
        if channel is None or channel["resourceId"] != body.get("resourceId"):
            return jsonify(error={"code": 404, "message": "Channel not found"}), 404
        del p.channels[body["id"]]
        return "", 204

    @app.post("/calendar/v3/freeBusy")
    def freebusy():
        """freeBusy.query: for each item, its busy periods within timeMin..timeMax
        (transparent events left out), or errors (notFound, backendError) and no busy."""
        if (denied := guard()) is not None:
            return denied
        body = request.get_json()
        lo, hi = stamp(body["timeMin"]), stamp(body["timeMax"])
        known = {"primary", p.email, *(c["id"] for c in p.calendar_list)}
        answers = {}
        for item in body.get("items", []):
            cid = item["id"]
            if cid not in known or cid in p.failing_calendars:
                reason = "notFound" if cid not in known else "backendError"
                answers[cid] = {"errors": [{"domain": "global", "reason": reason}], "busy": []}
                continue
            busy = [{"start": e["start"]["dateTime"], "end": e["end"]["dateTime"]}
                    for eid, e in p.events.items()
                    if p.event_calendar.get(eid, "primary") == own(cid)]
            if own(cid) == "primary":
                busy += list(p.busy)
            busy += [{"start": rfc3339(e["start"]), "end": rfc3339(e["end"])}
                     for e in p.calendar_events.get(cid, []) if not e["free"]]
            answers[cid] = {"busy": sorted(
                (b for b in busy if stamp(b["start"]) < hi and stamp(b["end"]) > lo),
                key=lambda b: stamp(b["start"]))}
        return jsonify(kind="calendar#freeBusy", timeMin=body["timeMin"],
                       timeMax=body["timeMax"], calendars=answers)

    @app.get("/calendar/v3/users/me/calendarList")
    def calendar_list():
        """calendarList.list: the entries (the primary one first), paged by maxResults."""
        if (denied := guard()) is not None:
            return denied
        entries = [{k: c[k] for k in ("kind", "id", "summary", "primary", "accessRole")}
                   for c in p.calendar_list] or [
            {"kind": "calendar#calendarListEntry", "id": p.email, "summary": p.email,
             "primary": True, "accessRole": "owner"}]
        size = int(request.args.get("maxResults", 100))
        start = int(request.args.get("pageToken", 0))
        page = {"kind": "calendar#calendarList", "items": entries[start:start + size]}
        if start + size < len(entries):
            page["nextPageToken"] = str(start + size)
        return jsonify(page)

    return app


def graph_app(p: Provider) -> Flask:
    app = Flask("graph-standin")
    oauth_app(p, app)
    transactions: dict[str, str] = {}

    def guard():
        p.calls.append((request.method, request.path, dict(request.args)))
        fault = p.faults.take()
        if fault is not None:
            return fault
        if not p.authorized():
            return jsonify(error={"code": "InvalidAuthenticationToken"}), 401
        return None

    def default_calendar() -> str:
        return next((c["id"] for c in p.calendar_list if c.get("isDefaultCalendar")),
                    "AAMkDefault")

    def calendar_of(eid: str) -> str:
        """The calendar an event lives in (one made with POST /me/events: the default)."""
        return p.event_calendar.get(eid) or default_calendar()

    def known_calendar(cid: str) -> dict | None:
        listed = p.calendar_list or [{"id": "AAMkDefault", "canEdit": True}]
        return next((c for c in listed if c["id"] == cid), None)

    @app.post("/v1.0/me/events")
    @app.post("/v1.0/me/calendars/<cid>/events")
    def create(cid: str | None = None):
        """Create an event in the default calendar (/me/events) or in the given one
        (/me/calendars/{id}/events): 201 with the event; 404 ErrorItemNotFound for an
        unknown calendar, 403 ErrorAccessDenied for one the user may not edit."""
        if (denied := guard()) is not None:
            return denied
        if cid is not None:
            found = known_calendar(cid)
            if found is None:
                return jsonify(error={"code": "ErrorItemNotFound", "message": "The "
                                      "specified object was not found in the store."}), 404
            if found.get("canEdit") is False:
                return jsonify(error={"code": "ErrorAccessDenied", "message": "Access is "
                                      "denied. Check credentials and try again."}), 403
        body = request.get_json()
        tid = body.get("transactionId")
        if tid and tid in transactions:
            return jsonify(p.events[transactions[tid]]), 201
        eid = "AAMk" + secrets.token_hex(8)
        p.events[eid] = {**body, "id": eid, "iCalUId": "040000008200E0" + secrets.token_hex(8)}
        if cid is not None:
            p.event_calendar[eid] = cid
        p.changed(eid)
        if tid:
            transactions[tid] = eid
        return jsonify(p.events[eid]), 201

    @app.route("/v1.0/me/events/<eid>", methods=["GET", "PATCH"])
    def update(eid):
        if (denied := guard()) is not None:
            return denied
        if eid not in p.events:
            return jsonify(error={"code": "ErrorItemNotFound"}), 404
        if request.method == "GET":
            return jsonify(p.events[eid])
        if request.headers.get("If-Match") not in (None, p.events[eid].get("changeKey")):
            return jsonify(error={"code": "ErrorIrresolvableConflict", "message": "The send "
                                  "or update operation could not be performed because the "
                                  "change key passed in the request does not match the "
                                  "current change key for the item."}), 412
        p.events[eid].update(request.get_json())
        p.changed(eid)
        return jsonify(p.events[eid])

    @app.get("/v1.0/me/calendarView/delta")
    @app.get("/v1.0/me/calendars/<cid>/calendarView/delta")
    def delta(cid: str | None = None):
        """Delta on calendarView, of the default calendar (/me/calendarView/delta) or of
        the given one (/me/calendars/{id}/calendarView/delta): the first round
        (startDateTime, endDateTime) lists every event of that calendar; each page ends
        with @odata.nextLink or, last, @odata.deltaLink (on the same path), whose
        $deltatoken gives what changed since (removals as "@removed"). An expired token
        answers 410 (SyncStateNotFound); an unknown calendar 404 (ErrorItemNotFound)."""
        if (denied := guard()) is not None:
            return denied
        if cid is not None and known_calendar(cid) is None:
            return jsonify(error={"code": "ErrorItemNotFound", "message": "The specified "
                                  "object was not found in the store."}), 404
        calendar = cid or default_calendar()
        token = request.args.get("$deltatoken")
        base = request.base_url
        if token is not None and (not token.isdigit() or int(token) < p.oldest_token):
            return jsonify(error={"code": "SyncStateNotFound", "message": "The sync state "
                                  "generation is not found. Start a new round."}), 410
        if token is None and not (request.args.get("startDateTime")
                                  and request.args.get("endDateTime")) \
                and request.args.get("$skiptoken") is None:
            return jsonify(error={"code": "ErrorInvalidParameter",
                                  "message": "startDateTime and endDateTime are required"}), 400
        ids = p.since(int(token)) if token is not None else list(p.events)
        items = [p.events[i] if i in p.events else
                 {"@odata.type": "#microsoft.graph.event", "id": i,
                  "@removed": {"reason": "deleted"}}
                 for i in ids if (i in p.events or i in p.removed)
                 and calendar_of(i) == calendar]
        size = 100
        skip = int(request.args.get("$skiptoken", 0))
        page = {"value": items[skip:skip + size]}
        if skip + size < len(items):
            query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + size)
            page["@odata.nextLink"] = base + "?" + urlencode(query)
        else:
            last = token if (p.duplicate and token) else str(len(p.change_log))
            p.duplicate = False
            page["@odata.deltaLink"] = base + "?" + urlencode({"$deltatoken": last})
        return jsonify(page)

    @app.post("/v1.0/me/events/<eid>/cancel")
    def cancel(eid):
        if (denied := guard()) is not None:
            return denied
        if eid not in p.events:
            return jsonify(error={"code": "ErrorItemNotFound"}), 404
        p.events[eid]["isCancelled"] = True
        p.changed(eid)
        return "", 202

    @app.post("/v1.0/subscriptions")
    def subscribe():
        """Create a subscription: an https notificationUrl, an expiration at most 4230
        minutes ahead, on me/events or me/calendars/{id}/events; Graph first posts
        ?validationToken= to the URL and needs the token back as plain text within 10 s,
        else 400."""
        if (denied := guard()) is not None:
            return denied
        body = request.get_json() or {}
        url, expires = body.get("notificationUrl") or "", body.get("expirationDateTime") or ""
        # me/events: every calendar of the mailbox; me/calendars/{id}/events: that one.
        resource = body.get("resource") or ""
        parts = resource.split("/")
        watched = None if resource == "me/events" else (
            parts[2] if len(parts) == 4 and parts[:2] == ["me", "calendars"]
            and parts[3] == "events" and known_calendar(parts[2]) else False)
        try:
            until = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            until = None
        now = datetime.now(UTC)
        if not url.startswith("https://") or until is None or until <= now or \
                (until - now).total_seconds() > 4230 * 60 or watched is False:
            return jsonify(error={"code": "InvalidRequest", "message": "Invalid subscription"}), 400
        token = secrets.token_urlsafe(12)
        if p.validate is None or p.validate(url, token) != token:
            return jsonify(error={"code": "InvalidRequest", "message": "Subscription "
                                  "validation request failed. Response must exactly match "
                                  "validationToken query parameter."}), 400
        sid = str(uuid.uuid4())
        created = {"id": sid, "resource": body["resource"], "changeType": body.get("changeType"),
                   "notificationUrl": url, "clientState": body.get("clientState"),
                   "expirationDateTime": until.isoformat().replace("+00:00", "Z"),
                   "applicationId": p.client_id}
        p.channels[sid] = {**created, "kind": "graph", "calendar": watched}
        return jsonify(created), 201

    @app.delete("/v1.0/subscriptions/<sid>")
    def unsubscribe(sid):
        if (denied := guard()) is not None:
            return denied
        p.stopped.append({"id": sid})
        if p.channels.pop(sid, None) is None:
            return jsonify(error={"code": "ResourceNotFound"}), 404
        return "", 204
    def shown(e: dict) -> dict:
        return {"subject": e["summary"], "showAs": "free" if e["free"] else "busy",
                "isAllDay": e["all_day"], "isCancelled": False,
                "start": {"dateTime": e["start"].astimezone(UTC).replace(tzinfo=None)
                          .isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": e["end"].astimezone(UTC).replace(tzinfo=None)
                        .isoformat(), "timeZone": "UTC"}}

    def default_id() -> str | None:
        return next((c["id"] for c in p.calendar_list if c.get("isDefaultCalendar")), None)

    @app.post("/v1.0/me/calendar/getSchedule")
    def schedule():
        """getSchedule: the mailbox's default calendar only, as scheduleItems (status is
        the event's showAs)."""
        if (denied := guard()) is not None:
            return denied
        if default_id() in p.failing_calendars:
            return jsonify(value=[{"scheduleId": p.email, "error": {
                "message": "Unable to retrieve the schedule", "responseCode": "Error"}}])
        items = [{"status": "busy", "start": {"dateTime": b["start"], "timeZone": "UTC"},
                  "end": {"dateTime": b["end"], "timeZone": "UTC"}} for b in p.busy]
        items += [{"status": e["showAs"], "subject": e["subject"], "isPrivate": False,
                   "start": e["start"], "end": e["end"]}
                  for e in map(shown, p.calendar_events.get(default_id(), []))]
        return jsonify(value=[{"scheduleId": p.email, "scheduleItems": items}])

    @app.get("/v1.0/me/calendars")
    def calendars():
        if (denied := guard()) is not None:
            return denied
        found = [{k: c[k] for k in ("id", "name", "isDefaultCalendar", "canEdit")}
                 for c in p.calendar_list] or [
            {"id": "AAMkDefault", "name": "Calendar", "isDefaultCalendar": True,
             "canEdit": True}]
        return jsonify({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata"
                        "#users('me')/calendars", "value": found})

    @app.get("/v1.0/me/calendars/<cid>/calendarView")
    def calendar_view(cid):
        """calendarView: the calendar's events overlapping startDateTime..endDateTime
        (required), 2 a page with @odata.nextLink (to exercise paging)."""
        if (denied := guard()) is not None:
            return denied
        if cid not in p.calendar_events or cid in p.failing_calendars:
            return jsonify(error={"code": "ErrorItemNotFound" if cid not in p.calendar_events
                                  else "ErrorInternalServerError"}), (
                404 if cid not in p.calendar_events else 503)
        args = request.args
        if not (args.get("startDateTime") and args.get("endDateTime")):
            return jsonify(error={"code": "ErrorInvalidParameter"}), 400
        lo, hi = stamp(args["startDateTime"]), stamp(args["endDateTime"])
        events = [shown(e) for e in p.calendar_events[cid] if e["start"] < hi and e["end"] > lo]
        events += [p.events[eid] for eid, c in p.event_calendar.items()
                   if c == cid and eid in p.events]
        skip = int(args.get("$skip", 0))
        page = {"value": events[skip:skip + 2]}
        if skip + 2 < len(events):
            query = {**args, "$skip": str(skip + 2)}
            page["@odata.nextLink"] = (request.base_url + "?" + urlencode(query))
        return jsonify(page)

    return app


def stamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def configure(app_config: dict, google: Provider, google_url: str, ms: Provider,
              ms_url: str) -> dict:
    """App config pointing Parley at the stand-ins."""
    return {
        **app_config,
        "GOOGLE_CLIENT_ID": google.client_id, "GOOGLE_CLIENT_SECRET": google.client_secret,
        "GOOGLE_AUTHORIZE_URL": f"{google_url}/oauth/authorize",
        "GOOGLE_TOKEN_URL": f"{google_url}/oauth/token",
        "GOOGLE_USERINFO_URL": f"{google_url}/oauth/userinfo",
        "GOOGLE_API_BASE": f"{google_url}/calendar/v3",
        "MICROSOFT_CLIENT_ID": ms.client_id, "MICROSOFT_CLIENT_SECRET": ms.client_secret,
        "MICROSOFT_AUTHORIZE_URL": f"{ms_url}/oauth/authorize",
        "MICROSOFT_TOKEN_URL": f"{ms_url}/oauth/token",
        "MICROSOFT_USERINFO_URL": f"{ms_url}/oauth/userinfo",
        "MICROSOFT_GRAPH_BASE": f"{ms_url}/v1.0",
    }


def zoom_app(p: Provider) -> Flask:
    """Zoom: OAuth (authorize, token with client_secret_basic) and REST API v2
    (GET /users/me, POST /users/me/meetings, PATCH and DELETE /meetings/<id>)."""
    app = Flask("zoom-standin")
    oauth_app(p, app)

    def guard():
        p.calls.append((request.method, request.path, request.get_json(silent=True) or {}))
        fault = p.faults.take()
        if fault is not None:
            return fault
        if not p.authorized():
            return jsonify(code=124, message="Invalid access token."), 401
        return None

    @app.get("/v2/users/me")
    def me():
        if (denied := guard()) is not None:
            return denied
        return jsonify(id="z1", email=p.email, type=2)

    @app.post("/v2/users/me/meetings")
    def create():
        if (denied := guard()) is not None:
            return denied
        body = request.get_json()
        if body.get("type") != 2 or not body.get("start_time") or not body.get("duration"):
            return jsonify(code=300, message="Invalid meeting"), 400
        mid = secrets.randbelow(9 * 10**10) + 10**10
        p.events[str(mid)] = {**body, "id": mid,
                              "join_url": f"https://zoom.example/j/{mid}?pwd=x1",
                              "password": "x1"}
        return jsonify(p.events[str(mid)]), 201

    @app.route("/v2/meetings/<mid>", methods=["PATCH", "DELETE"])
    def meeting(mid):
        if (denied := guard()) is not None:
            return denied
        if mid not in p.events:
            return jsonify(code=3001, message="Meeting does not exist"), 404
        if request.method == "DELETE":
            del p.events[mid]
            return "", 204
        p.events[mid].update(request.get_json())
        return "", 204

    return app
