"""Forms of the public pages: the SME's incident report and the login."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.domain.labels import CATEGORY_LABELS
from app.web.formutil import choices


class ReportForm(FlaskForm):
    """Few fields, plain words: what an SME can fill in while something is wrong."""

    customer = StringField(_l("Customer number or registered phone number"),
                           validators=[Optional(), Length(max=40)])
    reporter_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    reporter_phone = StringField(_l("Phone number we can call back"),
                                 validators=[DataRequired(), Length(max=32)])
    reporter_email = EmailField(_l("E-mail (optional)"),
                                validators=[Optional(), Email(), Length(max=254)])
    category = RadioField(_l("What happened?"), validators=[DataRequired()],
                          choices=choices(CATEGORY_LABELS.items()))
    description = TextAreaField(_l("Tell us what you see"),
                                validators=[DataRequired(), Length(max=10000)])
    business_stopped = BooleanField(_l("Our work has stopped because of this"))


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
