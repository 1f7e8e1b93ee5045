"""Forms of the organization administration pages (the service checks the rules again)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.domain.labels import PREFECTURES
from app.services.directory.organizations import FIELDS, MAX_INTEGER, MAX_LABEL
from app.web.formutil import ID_RANGE, choices


class OrganizationForm(FlaskForm):
    """An organization's code, name, address, prefecture, industry and size."""

    code = StringField(_l("Customer code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    prefecture = SelectField(_l("Prefecture"), coerce=int, validators=[InputRequired()],
                             choices=choices(enumerate(PREFECTURES, start=1)))
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=100)])
    employees = IntegerField(_l("Employees"), default=0, validators=[
        InputRequired(), NumberRange(min=0, max=MAX_INTEGER)])

    def fields(self):
        """The values as the service takes them (empty optional text as '')."""
        return {name: "" if self[name].data is None else self[name].data for name in FIELDS}


class PhoneForm(FlaskForm):
    """One more caller-ID number of the organization."""

    phone = StringField(_l("Phone number"), validators=[DataRequired(), Length(max=32)])
    label = StringField(_l("Label (e.g. main line, IT contact)"),
                        validators=[Optional(), Length(max=MAX_LABEL)])


class RemovePhoneForm(FlaskForm):
    """Which of the organization's numbers to unregister."""

    phone_id = IntegerField(validators=[InputRequired(), ID_RANGE])
