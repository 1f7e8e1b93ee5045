"""Forms of the administration pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.domain.labels import CATEGORY_LABELS, PREFECTURES
from app.services.dispatch.technicians import MAX_HOURLY_RATE
from app.web.formutil import choices, jst_in_range

LOCALE_LABELS = {"ja": "日本語", "en": "English"}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


class TechnicianForm(FlaskForm):
    """A technician's details; the phone and the other rules are checked by the service."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(), Length(max=32)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    prefectures = SelectMultipleField(_l("Prefectures served"), coerce=int,
                                      choices=choices(enumerate(PREFECTURES, start=1)))
    skills = SelectMultipleField(_l("Skills"), choices=choices(CATEGORY_LABELS.items()),
                                 widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())
    hourly_rate = IntegerField(_l("Hourly rate (yen, excl. tax)"), default=0, validators=[
        InputRequired(), NumberRange(min=0, max=MAX_HOURLY_RATE)])
    active = BooleanField(_l("Active (may receive offers)"), default=True)
    locale = SelectField(_l("Language of messages"), choices=choices(LOCALE_LABELS.items()),
                         default="ja")


class ShiftForm(FlaskForm):
    """An on-call shift; the times are Japan time."""

    starts_at = DateTimeLocalField(_l("Starts (JST)"), format=DATETIME_LOCAL,
                                   validators=[InputRequired(), jst_in_range])
    ends_at = DateTimeLocalField(_l("Ends (JST)"), format=DATETIME_LOCAL,
                                 validators=[InputRequired(), jst_in_range])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])

