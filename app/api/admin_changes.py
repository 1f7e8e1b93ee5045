"""The administrative change log over the API (admins only): who created, changed or
deleted which organization, contract, insurer, policy, user, technician, shift or ingest key."""

from datetime import datetime
from typing import Literal

from flask import current_app, g
from flask_openapi3 import Tag
from pydantic import BaseModel, Field

from app.api import bp
from app.api.schemas import Strict
from app.domain.timeutil import isoformat_utc
from app.services import admin_log

TAG = Tag(name="admin-changes", description="The administrative change log (admins)")


class AdminChangeListQuery(Strict):
    kind: Literal[admin_log.KINDS] | None = None
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class AdminChangeOut(BaseModel):
    id: int
    at: datetime
    actor: dict
    kind: str
    entity_id: int
    action: Literal[admin_log.ACTIONS]
    before: dict | None
    after: dict | None


class AdminChangePage(BaseModel):
    items: list[AdminChangeOut]
    next_cursor: str | None


def change_out(change):
    """A change as the API shows it."""
    return {"id": change.id, "at": isoformat_utc(change.at),
            "actor": {"id": change.actor_id, "label": change.actor_label},
            "kind": change.kind, "entity_id": change.entity_id, "action": change.action,
            "before": change.before, "after": change.after}


@bp.get("/admin-changes", tags=[TAG], responses={200: AdminChangePage})
def list_admin_changes(query: AdminChangeListQuery):
    """Administrative changes, newest first; filter by kind (follow next_cursor)."""
    limit = min(query.limit, current_app.config["API_PAGE_SIZE_MAX"])
    page = admin_log.change_page(g.api_user, kind=query.kind, cursor=query.cursor, limit=limit)
    return {"items": [change_out(c) for c in page.items], "next_cursor": page.next_cursor}
