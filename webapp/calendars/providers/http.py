"""JSON over HTTP for the Google and Microsoft adapters, with their error semantics."""

from __future__ import annotations

from collections.abc import Callable

import requests

from webapp.calendars.providers import AuthExpired, Changes, Conflict, ProviderError

TIMEOUT = 10


def call(method: str, url: str, token: str, *, json=None, params=None,
         ok_missing: bool = False, timeout: float = TIMEOUT,
         headers: dict | None = None) -> dict | None:
    """One authorized call. Raises AuthExpired on 401, ProviderError otherwise; 404/410
    return None when ok_missing (deleting what is already gone)."""
    try:
        response = requests.request(method, url, json=json, params=params, timeout=timeout,
                                    headers={"Authorization": f"Bearer {token}",
                                             "Accept": "application/json",
                                             **(headers or {})})
    except requests.RequestException as exc:
        raise ProviderError(f"{exc.__class__.__name__}: calendar service unreachable") from exc
    status = response.status_code
    if status in (404, 410) and ok_missing:
        return None
    if status == 412:
        raise Conflict()
    if status == 401:
        raise AuthExpired("access token refused", status, retryable=True)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        try:
            seconds = float(retry_after) if retry_after else None
        except ValueError:
            seconds = None
        raise ProviderError(f"{status} from calendar service", status, retryable=True,
                            retry_after=seconds)
    if status >= 400:
        raise ProviderError(f"{status} from calendar service: {_reason(response)}", status,
                            retryable=False)
    if status == 204 or not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError("calendar service sent malformed JSON", status) from exc


#: A request as (url, query parameters).
Request = tuple[str, dict | None]


def changes(token: str | None, bearer: str, *, first: Callable[[str | None], Request],
            following: Callable[[dict, Request], Request | None], items: str, last: str,
            as_remote: Callable) -> Changes:
    """An incremental read of one calendar, as Google (events.list with syncToken:
    nextPageToken, then nextSyncToken) and Graph (delta: @odata.nextLink, then
    @odata.deltaLink) both page it: first(token) is the first request, following(page,
    request) the next one (None: that page was the last), `items` the key of each page's
    events, `last` the key of the last page's new token. A 410 (the token expired)
    starts over without it: a full read, every event."""
    request_, events = first(token), []
    while True:
        url, params = request_
        try:
            data = call("GET", url, bearer, params=params) or {}
        except ProviderError as exc:
            if exc.status == 410 and token:
                return changes(None, bearer, first=first, following=following, items=items,
                               last=last, as_remote=as_remote)
            raise
        events += [as_remote(item) for item in data.get(items, [])]
        request_ = following(data, request_)
        if request_ is None:
            return Changes(events, data.get(last), full=not token)


def _reason(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""  # never the body itself: it is stored and shown on the meeting
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "")[:200]
    return str(error or "")[:200]
