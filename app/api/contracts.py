"""Contract endpoints: admins write, the desk and dispatchers read."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.api.contract_schemas import (
    ContractCreate,
    ContractList,
    ContractOut,
    ContractPath,
    ContractUpdate,
    OrganizationContractsPath,
)
from app.errors import InvalidInput
from app.services.directory import contracts as service

TAG = Tag(name="contracts", description="Service contracts checked against the standard")
NULLABLE = ("ends_on", "policy_id", "alert_incident_severities")


def contract_out(contract):
    """A contract as the API shows it."""
    return ContractOut.model_validate(contract, from_attributes=True).model_dump(mode="json")


def _sent(body):
    """The fields sent; null is refused except where it means 'none' (end date, policy) or
    'the default' (alert severities)."""
    fields = body.model_dump(exclude_unset=True)
    for name, value in fields.items():
        if value is None and name not in NULLABLE:
            raise InvalidInput(f"{name} cannot be null.", {"field": name})
    return fields


@bp.get("/organizations/<int:organization_id>/contracts", tags=[TAG],
        responses={200: ContractList})
def list_contracts(path: OrganizationContractsPath):
    """An organization's contracts by start date."""
    items = service.list_contracts(g.api_user, path.organization_id)
    return {"items": [contract_out(c) for c in items]}


@bp.post("/organizations/<int:organization_id>/contracts", tags=[TAG],
         responses={201: ContractOut})
def create_contract(path: OrganizationContractsPath, body: ContractCreate):
    """Add a contract; refused with the reason (e.g. over_price_cap and the cap) if it fails."""
    contract = service.create_contract(g.api_user, path.organization_id, body.model_dump())
    return contract_out(contract), 201


@bp.get("/contracts/<int:contract_id>", tags=[TAG], responses={200: ContractOut})
def get_contract(path: ContractPath):
    """One contract."""
    return contract_out(service.get_contract(g.api_user, path.contract_id))


@bp.patch("/contracts/<int:contract_id>", tags=[TAG], responses={200: ContractOut})
def update_contract(path: ContractPath, body: ContractUpdate):
    """Change the fields sent; the whole contract must still meet the standard."""
    return contract_out(service.update_contract(g.api_user, path.contract_id, _sent(body)))
