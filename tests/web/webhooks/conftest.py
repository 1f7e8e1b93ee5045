"""Fixtures: the Twilio auth token, a signing test client, a dispatch waiting for its technician."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Organization, User
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from tests.web.webhooks.helpers import TOKEN, sign


@pytest.fixture
def config_override(app):
    """override(KEY=value, ...) changes app.config for one test; restored afterwards."""
    saved = {}

    def override(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key))
            app.config[key] = value
    yield override
    app.config.update(saved)


@pytest.fixture(autouse=True)
def twilio_settings(config_override):
    """Webhooks need an auth token; no desk phone unless a test sets one."""
    config_override(TWILIO_AUTH_TOKEN=TOKEN, DESK_PHONE_NUMBER="")


@pytest.fixture
def twilio(app, client):
    """twilio(path, data) posts form data signed like Twilio; signature= overrides it."""
    def post(path, data=None, *, signature=None, token=TOKEN):
        data = data or {}
        signature = sign(app, path, data, token) if signature is None else signature
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return client.post(path, data=data, headers=headers)
    return post


@pytest.fixture
def dispatched(app, world):
    """An incident of org A whose dispatch was requested: the first technician has the offer."""
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        incident = factories.make_incident(org, state="triaging", summary="全PCが暗号化された")
        fire_trigger(incident.id, "request_dispatch",
                     db.session.get(User, world.users["dispatcher"]))
        dispatch = db.session.scalars(select(Dispatch).filter_by(incident_id=incident.id)).one()
        ids = SimpleNamespace(incident=incident.id, dispatch=dispatch.id,
                              technician=dispatch.technician_id, phone=dispatch.technician.phone,
                              organization=org.name)
        db.session.remove()
    return ids
