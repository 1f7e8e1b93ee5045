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
