"""Shared bits of the people's forms."""

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.domain.timeutil import JST, in_range_utc
from app.models import MAX_INTEGER

# An id field: what no INTEGER column can hold is a form error, not a database error.
ID_RANGE = NumberRange(min=1, max=MAX_INTEGER)


def choices(pairs):
    """(value, label) pairs as WTForms select/radio choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def flash_form_errors(form):
    """Each field's errors as one flash message, named by the field's label."""
    for name, errors in form.errors.items():
        label = form[name].label.text if name in form else name
        flash(f"{label}: {' '.join(errors)}", "error")


def attach_error(form, exc):
    """Show a service refusal (AppError) on the field it names, else above the form."""
    field = exc.details.get("field")
    if field in form:
        form[field].errors.append(exc.message)
    else:
        form.form_errors.append(exc.message)


def jst_in_range(_form, field):
    """A Japan-time field's value must lie in the range of instants the API accepts."""
    if field.data is None:
        return
    try:
        in_range_utc(field.data.replace(tzinfo=JST))
    except ValueError:
        raise ValidationError(_l("Give a time between 1970 and 2099.")) from None


class TriggerParamsForm(FlaskForm):
    """A field for each parameter people give with an incident trigger (the `params` of
    workflows/incident.py); a page shows those of its trigger (INCIDENT.params_of), and the
    workflow's guards check that they are given."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=1000)])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
    amount = IntegerField(_l("Amount (yen)"),
                          validators=[Optional(), NumberRange(min=1, max=MAX_INTEGER)])
    paid_on = DateField(_l("Paid on"), validators=[Optional()])

    def params(self, names):
        """{name: value} of the named parameters, as the services take them (dates as ISO)."""
        values = {name: self[name].data for name in names}
        if values.get("paid_on") is not None:
            values["paid_on"] = values["paid_on"].isoformat()
        return values
