"""Forms of the desk console."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.domain.labels import CATEGORY_LABELS, SEVERITY_LABELS, SOURCE_LABELS
from app.web.formutil import ID_RANGE, TriggerParamsForm, choices, jst_in_range


class TransitionForm(TriggerParamsForm):
    """One trigger button; the fields a trigger needs are shown beside it."""

    trigger = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])


class NoteForm(FlaskForm):
    """A note for the timeline."""

    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=5000)])
    share_with_insurer = BooleanField(_l("Share with the insurer (early notice, claim "
                                         "documents, insurer portal)"))


class CheckForm(FlaskForm):
    """One checklist tick."""

    item = HiddenField(validators=[DataRequired()])
    checked = BooleanField()


class PhoneIntakeForm(FlaskForm):
    """What the operator records while on the phone."""

    caller_phone = StringField(_l("Caller's number"), validators=[DataRequired(), Length(max=32)])
    reporter_name = StringField(_l("Caller's name"), validators=[DataRequired(), Length(max=100)])
    organization_id = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    category = SelectField(_l("Category"), choices=choices(CATEGORY_LABELS.items()),
                           validators=[DataRequired()])
    severity = RadioField(_l("Severity"), choices=choices(SEVERITY_LABELS.items()),
                          default="medium", validators=[DataRequired()])
    summary = StringField(_l("Summary"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=10000)])
    callback_phone = StringField(_l("Call-back number (if not the caller's number)"),
                                 validators=[Optional(), Length(max=32)])
    reporter_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    discovered_at = DateTimeLocalField(_l("Discovered at (JST)"), format="%Y-%m-%dT%H:%M",
                                       validators=[Optional(), jst_in_range])
    occurred_at = DateTimeLocalField(_l("Occurred at (JST, if known)"),
                                     format="%Y-%m-%dT%H:%M",
                                     validators=[Optional(), jst_in_range])


class CorrectionForm(FlaskForm):
    """The incident's facts as they are, to correct (app/services/incidents/corrections.py);
    only the values changed are sent on."""

    version = IntegerField(validators=[DataRequired()])
    category = SelectField(_l("Category"), choices=choices(CATEGORY_LABELS.items()),
                           validators=[DataRequired()])
    severity = SelectField(_l("Severity"), choices=choices(SEVERITY_LABELS.items()),
                           validators=[DataRequired()])
    summary = StringField(_l("Summary"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=10000)])
    reporter_name = StringField(_l("Reporter's name"), validators=[Optional(), Length(max=100)])
    reporter_phone = StringField(_l("Call-back number"), validators=[Optional(), Length(max=32)])
    reporter_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    discovered_at = DateTimeLocalField(_l("Discovered at (JST)"), format="%Y-%m-%dT%H:%M",
                                       validators=[InputRequired(), jst_in_range])
    occurred_at = DateTimeLocalField(_l("Occurred at (JST, if known)"),
                                     format="%Y-%m-%dT%H:%M",
                                     validators=[Optional(), jst_in_range])
    discovery_source = SelectField(_l("Discovered through"),
                                   choices=choices(SOURCE_LABELS.items()),
                                   validators=[DataRequired()])
    organization_id = SelectField(_l("Organization"), coerce=int,
                                  validators=[Optional(), ID_RANGE], validate_choice=False)
    reason = StringField(_l("Reason for the correction"),
                         validators=[Optional(), Length(max=1000)])
    completed = BooleanField(_l("The call is complete"))


class LinkForm(FlaskForm):
    """Link the incident to another by its reference."""

    reference = StringField(_l("Other incident's reference"),
                            validators=[DataRequired(), Length(max=20)])
    kind = SelectField(_l("Link"), choices=choices([
        ("duplicate_of", _l("This incident is a duplicate of it (cancel this one)")),
        ("related", _l("Related"))]), validators=[DataRequired()])


class VoicemailForm(FlaskForm):
    """File an unknown caller's voicemail under an organization."""

    organization_id = SelectField(_l("Organization"), coerce=int,
                                  validators=[DataRequired(), ID_RANGE], validate_choice=False)
    register_number = BooleanField(_l("Register the number as this organization's"))


class LeakMarkForm(FlaskForm):
    """Mark a personal-data leak (again: change only whether it was malicious)."""

    version = IntegerField(validators=[DataRequired()])
    malicious = BooleanField(_l("Caused with malice (final report due in 60 days)"))


class LeakReportForm(FlaskForm):
    """When the preliminary or final report was made to the commission (Japan time)."""

    version = IntegerField(validators=[DataRequired()])
    kind = SelectField(_l("Report"), choices=choices([("preliminary", _l("Preliminary report")),
                                                      ("final", _l("Final report"))]),
                       validators=[DataRequired()])
    reported_at = DateTimeLocalField(_l("Reported at (JST)"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired(), jst_in_range])


class LeakUnmarkForm(FlaskForm):
    """Take back a leak mark set by mistake."""

    version = IntegerField(validators=[DataRequired()])
