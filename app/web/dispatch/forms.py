"""Forms of the dispatcher's board."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.web.formutil import ID_RANGE


class OverrideForm(FlaskForm):
    """Choose the technician to ask; the service checks that they exist and are active."""

    technician_id = SelectField(_l("Technician"), coerce=int, validate_choice=False,
                                validators=[DataRequired(), ID_RANGE])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=1000)])


class ReofferForm(FlaskForm):
    """Offer to the next candidate now (only the CSRF token)."""


class CancelDispatchForm(FlaskForm):
    """Withdraw an offer or an accepted visit, with the reason."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
