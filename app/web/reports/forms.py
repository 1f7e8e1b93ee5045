"""The staff's form to build (or rebuild) one organization's monthly report."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError
from wtforms.validators import DataRequired

from app.services.reporting.monthly import MONTH


class BuildReportForm(FlaskForm):
    """Which organization and month; the service checks the contract and the date."""

    organization_id = SelectField(_l("Organization"), coerce=int,
                                  validators=[DataRequired()])
    month = StringField(_l("Month (YYYY-MM)"), render_kw={"type": "month"},
                        validators=[DataRequired()])

    def validate_month(self, field):
        """A calendar month written YYYY-MM (what <input type="month"> sends)."""
        if MONTH.fullmatch(field.data.strip()) is None:
            raise ValidationError(_("Give the month as YYYY-MM."))
