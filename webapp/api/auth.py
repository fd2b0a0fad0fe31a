"""The API's door: bearer-token authentication with a rate limit, problem+json errors,
and the declaration of an endpoint (route and OpenAPI entry at once)."""

from __future__ import annotations

from flask import g, request

from webapp.api import bp, ratelimit
from webapp.api import operations as token_ops
from webapp.api import spec as S
from webapp.api.problems import ApiError, problem
from webapp.extensions import csrf, db
from webapp.types import utcnow

#: Endpoints anyone may call without a token (api_view with a public Operation): they
#: are rate limited per address instead (#22's scheduling pages).
PUBLIC_ENDPOINTS: set[str] = set()


def _is_api() -> bool:
    return request.path.startswith("/api/v1/") and request.endpoint not in (
        "api.openapi", "api.reference") and request.endpoint not in PUBLIC_ENDPOINTS


@bp.before_app_request
def _authenticate():
    if not _is_api():
        return None
    header = request.headers.get("Authorization", "")
    token = token_ops.authenticate(header[7:].strip()) if header.startswith("Bearer ") else None
    if token is None:
        return problem(401, "Send a valid personal API token: Authorization: Bearer TOKEN.")
    allowed, retry_after = ratelimit.hit(token.token_hash[:24])
    if not allowed:
        return problem(429, "Too many requests for this token; slow down.",
                       headers={"Retry-After": str(retry_after)})
    token.last_used_at = utcnow()
    g.api_user = token.user
    g.account_id = token.account_id
    return None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return problem(exc.status, exc.detail, exc.errors, exc.headers)


def api_view(op: S.Operation):
    """Declare an API endpoint: route + OpenAPI entry; bearer auth, so no CSRF cookie."""

    def wrap(view):
        csrf.exempt(view)
        if op.public:
            PUBLIC_ENDPOINTS.add(f"{bp.name}.{op.endpoint}")
        return S.operation(bp, op)(view)

    return wrap


def _json_body(schema: dict) -> dict:
    if not request.is_json:
        raise ApiError(415 if request.data else 400, "Send a JSON object with "
                       "Content-Type: application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "The body is not a JSON object.")
    errors = S.body_errors(schema, data)
    if errors:
        raise ApiError(422, "Some fields are invalid.", errors)
    return data


def _page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 25))
    except ValueError as exc:
        raise ApiError(422, "page and per_page are whole numbers.", [
            {"field": "page", "message": "Must be a whole number."}]) from exc
    if not (1 <= page <= 100000 and 1 <= per_page <= 100):
        raise ApiError(422, "page from 1, per_page from 1 to 100.",
                       [{"field": "per_page", "message": "Out of range."}])
    return page, per_page
