"""Technician and on-call shift endpoints."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.api import dispatch_serializers as out
from app.api.dispatch_schemas import (
    ShiftCreate,
    ShiftList,
    ShiftListQuery,
    ShiftOut,
    ShiftPath,
    TechnicianCreate,
    TechnicianListQuery,
    TechnicianOut,
    TechnicianPage,
    TechnicianPath,
    TechnicianUpdate,
)
from app.domain.timeutil import utcnow
from app.services.dispatch import technicians as service
from app.services.paging import decode_cursor, encode_cursor

TAG = Tag(name="technicians", description="Technicians and their on-call shifts")


def _technician_out(tech):
    on_call = service.current_shifts([tech.id], utcnow())
    return out.technician(tech, tech.id in on_call)


@bp.get("/technicians", tags=[TAG], responses={200: TechnicianPage})
def list_technicians(query: TechnicianListQuery):
    """Technicians in id order, a page at a time (desk, dispatcher, admin)."""
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = service.list_technicians(g.api_user, active=query.active, after_id=after,
                                    limit=query.limit + 1)
    page = rows[:query.limit]
    on_call = service.current_shifts([t.id for t in page], utcnow())
    return {"items": [out.technician(t, t.id in on_call) for t in page],
            "next_cursor": encode_cursor(page[-1].id) if len(rows) > query.limit else None}


@bp.post("/technicians", tags=[TAG], responses={201: TechnicianOut})
def create_technician(body: TechnicianCreate):
    """Add a technician (dispatcher, admin); the phone is stored in E.164."""
    tech = service.create_technician(g.api_user, body.model_dump())
    return _technician_out(tech), 201


@bp.get("/technicians/<int:technician_id>", tags=[TAG], responses={200: TechnicianOut})
def get_technician(path: TechnicianPath):
    """One technician (desk, dispatcher, admin)."""
    return _technician_out(service.get_technician(g.api_user, path.technician_id))


@bp.patch("/technicians/<int:technician_id>", tags=[TAG], responses={200: TechnicianOut})
def update_technician(path: TechnicianPath, body: TechnicianUpdate):
    """Change the fields sent, leave the others (dispatcher, admin)."""
    tech = service.update_technician(path.technician_id, g.api_user,
                                     body.model_dump(exclude_unset=True))
    return _technician_out(tech)


@bp.get("/technicians/<int:technician_id>/shifts", tags=[TAG], responses={200: ShiftList})
def list_shifts(path: TechnicianPath, query: ShiftListQuery):
    """The technician's shifts that end after `since` (default now), earliest first."""
    shifts = service.upcoming_shifts(g.api_user, path.technician_id, since=query.since,
                                     limit=query.limit)
    return {"items": [out.shift(s) for s in shifts]}


@bp.post("/technicians/<int:technician_id>/shifts", tags=[TAG], responses={201: ShiftOut})
def create_shift(path: TechnicianPath, body: ShiftCreate):
    """Put the technician on call; 409 `shift_overlap` names the shift it would overlap."""
    shift = service.add_shift(path.technician_id, g.api_user, body.starts_at, body.ends_at,
                              body.note)
    return out.shift(shift), 201


@bp.delete("/shifts/<int:shift_id>", tags=[TAG], responses={204: None})
def delete_shift(path: ShiftPath):
    """Remove a shift (dispatcher, admin)."""
    service.delete_shift(path.shift_id, g.api_user)
    return "", 204
