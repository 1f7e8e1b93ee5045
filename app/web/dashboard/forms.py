"""The period form of the dashboard pages (a GET form: no CSRF token, nothing changes)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional

from app.errors import InvalidInput
from app.services.reporting.dashboard import MAX_YEARS, make_period

REASONS = {
    "end_before_start": _l("The end date is before the start date."),
    "too_long": _l("A period can be at most %(years)d years long.", years=MAX_YEARS),
    "out_of_range": _l("Give a date between 1970 and 2099."),
}


class PeriodForm(FlaskForm):
    """From and to, JST dates; empty means the last 30 days. period is set when valid."""

    class Meta:
        csrf = False

    first = DateField(_l("Start date"), name="from", validators=[Optional()])
    last = DateField(_l("End date"), name="to", validators=[Optional()])
    period = None

    def check(self, now):
        """Validate, and keep the period (the service's rules) or a form error on `to`."""
        if not self.validate():
            return False
        try:
            self.period = make_period(self.first.data, self.last.data, now)
        except InvalidInput as exc:
            self.last.errors = [*self.last.errors, REASONS[exc.details["reason"]]]
            return False
        self.first.data, self.last.data = self.period.first, self.period.last  # shown filled
        return True

    def query(self):
        """from/to of the chosen period, for links that keep it."""
        return self.period.as_dict() if self.period else {}
