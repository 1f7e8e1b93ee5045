"""The insurer portal's forms: one decision on a claim, and a packet check."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

ACTIONS = ("acknowledge", "request_info", "approve", "deny", "record_payment")
# The fields each decision shows (the workflow checks that they are given).
ACTION_FIELDS = {"acknowledge": [], "request_info": ["message"], "approve": ["amount"],
                 "deny": ["reason"], "record_payment": ["amount", "paid_on"]}


class ClaimActionForm(FlaskForm):
    """One of the insurer's decisions on a claim."""

    action = HiddenField(validators=[DataRequired(), AnyOf(ACTIONS)])
    amount = IntegerField(_l("Amount (yen)"), validators=[Optional(), NumberRange(min=1)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=1000)])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
    paid_on = DateField(_l("Paid on"), validators=[Optional()])


class VerifyForm(FlaskForm):
    """Check a stored packet version against its signed manifest."""
