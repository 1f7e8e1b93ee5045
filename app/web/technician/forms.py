"""Forms of the technician's pages and of the SMS link page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class StepForm(FlaskForm):
    """One button of a dispatch; the fields a step needs are checked by the service."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=1000)])
    work_report = TextAreaField(_l("Work report"), validators=[Optional(), Length(max=20000)])
    signoff_name = StringField(_l("Customer's sign-off (name)"),
                               validators=[Optional(), Length(max=100)])


class LinkAcceptForm(FlaskForm):
    """Accept through the SMS link (only the CSRF token)."""


class LinkDeclineForm(FlaskForm):
    """Decline through the SMS link: the reason is required."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
