"""The insurer portal's forms: one decision on a claim, and a packet check."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

from app.services.claims import claims
from app.web.formutil import TriggerParamsForm


class ClaimActionForm(TriggerParamsForm):
    """One of the insurer's decisions on a claim (app/services/claims/claims.py ACTIONS),
    with the fields its trigger takes."""

    action = HiddenField(validators=[DataRequired(), AnyOf(list(claims.ACTIONS))])


class VerifyForm(FlaskForm):
    """Check a stored packet version against its signed manifest."""
