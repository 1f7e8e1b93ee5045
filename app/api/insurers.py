"""Insurer endpoints (admin): insurers, their webhook secret, their portal users; policies."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.api.cost_schemas import Empty
from app.api.insurer_schemas import (
    InsurerCreate,
    InsurerCreated,
    InsurerList,
    InsurerOut,
    InsurerPath,
    InsurerUpdate,
    InsurerUserCreate,
    InsurerUserList,
    InsurerUserOut,
    PolicyCreate,
    PolicyIdPath,
    PolicyList,
    PolicyOut,
    PolicyUpdate,
    SecretOut,
)
from app.errors import InvalidInput
from app.services.claims import coverage
from app.services.claims import insurers as service

TAG = Tag(name="insurers", description="Insurers, their portal users, and policies (admin)")


def insurer_out(insurer):
    """An insurer as the API shows it: never its secret."""
    return {"id": insurer.id, "code": insurer.code, "name": insurer.name,
            "notice_email": insurer.notice_email, "webhook_url": insurer.webhook_url,
            "has_webhook_secret": bool(insurer.webhook_secret)}


def user_out(user):
    """An insurer's portal user."""
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "insurer_id": user.insurer_id, "active": user.active}


def policy_out(policy):
    """A policy's parties, period and limits (the per-head terms: /policies/{id}/terms)."""
    return PolicyOut.model_validate(policy, from_attributes=True).model_dump(mode="json")


def _sent(body):
    """The fields sent; an explicit null is refused rather than read as 'leave alone'."""
    fields = body.model_dump(exclude_unset=True)
    for name, value in fields.items():
        if value is None:
            raise InvalidInput(f"{name} cannot be null.", {"field": name})
    return fields


@bp.get("/insurers", tags=[TAG], responses={200: InsurerList})
def list_insurers():
    """Every insurer by code."""
    return {"items": [insurer_out(i) for i in service.list_insurers(g.api_user)]}


@bp.post("/insurers", tags=[TAG], responses={201: InsurerCreated})
def create_insurer(body: InsurerCreate):
    """Add an insurer; the answer carries its webhook secret, shown only this once."""
    insurer, secret = service.create_insurer(g.api_user, body.model_dump())
    return {**insurer_out(insurer), "webhook_secret": secret}, 201


@bp.get("/insurers/<int:insurer_id>", tags=[TAG], responses={200: InsurerOut})
def get_insurer(path: InsurerPath):
    """One insurer."""
    return insurer_out(service.get_insurer(g.api_user, path.insurer_id))


@bp.patch("/insurers/<int:insurer_id>", tags=[TAG], responses={200: InsurerOut})
def update_insurer(path: InsurerPath, body: InsurerUpdate):
    """Change the fields sent."""
    return insurer_out(service.update_insurer(path.insurer_id, g.api_user, _sent(body)))


@bp.post("/insurers/<int:insurer_id>/rotate-secret", tags=[TAG], responses={200: SecretOut})
def rotate_secret(path: InsurerPath, body: Empty):
    """Replace the webhook secret; the answer carries the new one, shown only this once."""
    insurer, secret = service.rotate_secret(path.insurer_id, g.api_user)
    return {"id": insurer.id, "webhook_secret": secret}


@bp.get("/insurers/<int:insurer_id>/users", tags=[TAG], responses={200: InsurerUserList})
def list_insurer_users(path: InsurerPath):
    """The insurer's portal users."""
    return {"items": [user_out(u) for u in service.list_users(g.api_user, path.insurer_id)]}


@bp.post("/insurers/<int:insurer_id>/users", tags=[TAG], responses={201: InsurerUserOut})
def create_insurer_user(path: InsurerPath, body: InsurerUserCreate):
    """Add a portal user (role insurer) with the initial password given."""
    user = service.create_user(path.insurer_id, g.api_user, email=body.email, name=body.name,
                               password=body.password)
    return user_out(user), 201


@bp.get("/policies", tags=[TAG], responses={200: PolicyList})
def list_policies():
    """Every policy by number."""
    return {"items": [policy_out(p) for p in coverage.list_policies(g.api_user)]}


@bp.post("/policies", tags=[TAG], responses={201: PolicyOut})
def create_policy(body: PolicyCreate):
    """Add a policy; set its per-head terms with PUT /policies/{id}/terms."""
    return policy_out(service.create_policy(g.api_user, body.model_dump())), 201


@bp.get("/policies/<int:policy_id>", tags=[TAG], responses={200: PolicyOut})
def get_policy(path: PolicyIdPath):
    """One policy."""
    return policy_out(coverage.get_policy(g.api_user, path.policy_id))


@bp.patch("/policies/<int:policy_id>", tags=[TAG], responses={200: PolicyOut})
def update_policy(path: PolicyIdPath, body: PolicyUpdate):
    """Change the fields sent."""
    return policy_out(service.update_policy(path.policy_id, g.api_user, _sent(body)))
