"""The scheduler's rotation and host fields: what they offer and what they show (B1, B2)."""

from __future__ import annotations

from webapp.auth.models import Account, User
from webapp.meetings import queries
from webapp.rotations import operations as ops


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def host_field(account: Account, actor: User, values: dict, editing: bool) -> dict:
    """Template context for the rotation select and the host field.

    `hosts` are who the actor may choose without a rotation; with a rotation chosen the
    host select lists only its members who may host (`host_options`).
    """
    hosts = queries.hosts_for(account, actor)
    offered = [] if editing else ops.offered(account, actor)
    rotation_id = _int(values.get("rotation_id"))
    rotation = next((r for r in offered if r.id == rotation_id), None)
    options = ops.eligible_users(rotation) if rotation is not None else []
    suggested_id = _int(values.get("suggested_host_id"))
    return {
        "hosts": hosts, "rotations": offered, "rotation": rotation,
        "host_options": options or hosts,
        "suggested_user": next((u for u in options if u.id == suggested_id), None),
        "reload_calendar": False,
    }
