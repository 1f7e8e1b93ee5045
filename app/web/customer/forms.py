"""Forms of the customer's incident page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from app.services.dispatch.signoff import COMMENT_MAX
from app.services.incidents.corrections import CONTACT_FIELDS, LIMITS
from app.services.incidents.notes import NOTE_MAX


class NoteForm(FlaskForm):
    """Information for the desk, in the customer's own words."""

    note = TextAreaField(_l("Information for the desk"),
                         validators=[DataRequired(), Length(max=NOTE_MAX)])


class SignOffForm(FlaskForm):
    """The customer confirms the work report; a comment is optional."""

    comment = TextAreaField(_l("Comment (optional)"),
                            validators=[Optional(), Length(max=COMMENT_MAX)])


class DetailsForm(FlaskForm):
    """What the customer may correct itself: the description and how to reach the reporter
    (app/services/incidents/corrections.py CONTACT_FIELDS); the version it saw."""

    version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    description = TextAreaField(_l("What happened"),
                                validators=[Optional(), Length(max=LIMITS["description"])])
    reporter_name = StringField(_l("Your name"),
                                validators=[Optional(), Length(max=LIMITS["reporter_name"])])
    reporter_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    reporter_email = EmailField(_l("E-mail"),
                                validators=[Optional(), Length(max=LIMITS["reporter_email"])])

    @classmethod
    def of(cls, incident):
        """The form filled with the incident's current values."""
        return cls(version=incident.version, description=incident.description,
                   reporter_name=incident.reporter_name, reporter_phone=incident.reporter_phone,
                   reporter_email=incident.reporter_email)

    def changes(self):
        """The fields as the correction service takes them (empty text is empty)."""
        return {name: getattr(self, name).data or "" for name in CONTACT_FIELDS}

