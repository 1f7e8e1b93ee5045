"""Shared bits of the people's forms."""

from wtforms.fields.choices import SelectChoice


def choices(pairs):
    """(value, label) pairs as WTForms select/radio choices."""
    return [SelectChoice(value, label) for value, label in pairs]
