"""Organization endpoints."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.api import serializers as out
from app.api.schemas import OrganizationList
from app.services.queries import visible_organizations

TAG = Tag(name="organizations", description="Customer organizations")


@bp.get("/organizations", tags=[TAG], responses={200: OrganizationList})
def list_organizations():
    """Organizations you may see: all for the desk and admins, your own for a customer."""
    return {"items": [out.organization(o) for o in visible_organizations(g.api_user)]}
