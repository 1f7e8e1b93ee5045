"""Forms of the customer's incident page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.services.dispatch.signoff import COMMENT_MAX
from app.services.incidents.notes import NOTE_MAX


class NoteForm(FlaskForm):
    """Information for the desk, in the customer's own words."""

    note = TextAreaField(_l("Information for the desk"),
                         validators=[DataRequired(), Length(max=NOTE_MAX)])


class SignOffForm(FlaskForm):
    """The customer confirms the work report; a comment is optional."""

    comment = TextAreaField(_l("Comment (optional)"),
                            validators=[Optional(), Length(max=COMMENT_MAX)])
