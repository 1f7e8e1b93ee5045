"""Organization endpoints: everyone reads what they may see; admins create and change."""

from flask import g
from flask_openapi3 import Tag

from app.access import get_organization_for
from app.api import bp
from app.api import serializers as out
from app.api.schemas import (
    OrganizationCreate,
    OrganizationDetail,
    OrganizationList,
    OrganizationPath,
    OrganizationUpdate,
)
from app.services.directory import organizations as service
from app.services.directory.organizations import visible_organizations

TAG = Tag(name="organizations", description="Customer organizations")


@bp.get("/organizations", tags=[TAG], responses={200: OrganizationList})
def list_organizations():
    """Organizations you may see: all for the desk and admins, your own for a customer."""
    return {"items": [out.organization(o) for o in visible_organizations(g.api_user)]}


@bp.post("/organizations", tags=[TAG], responses={201: OrganizationDetail})
def create_organization(body: OrganizationCreate):
    """Add an organization with its phone numbers (admin); the code must be new."""
    organization = service.create_organization(
        g.api_user, body.model_dump(exclude={"phones"}), [p.model_dump() for p in body.phones])
    return out.organization_detail(organization), 201


@bp.get("/organizations/<int:organization_id>", tags=[TAG],
        responses={200: OrganizationDetail})
def get_organization(path: OrganizationPath):
    """One organization with its phone numbers, if you may see it (as in the list)."""
    return out.organization_detail(get_organization_for(g.api_user, path.organization_id))


@bp.patch("/organizations/<int:organization_id>", tags=[TAG],
          responses={200: OrganizationDetail})
def update_organization(path: OrganizationPath, body: OrganizationUpdate):
    """Change the fields sent (admin); `phones`, when sent, replaces the list."""
    changes = body.model_dump(exclude_unset=True)
    phones = changes.pop("phones", None)
    organization = service.update_organization(path.organization_id, g.api_user, changes,
                                               phones=phones)
    return out.organization_detail(organization)
