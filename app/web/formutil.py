"""Shared bits of the people's forms."""

from flask import flash
from wtforms.fields.choices import SelectChoice


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
