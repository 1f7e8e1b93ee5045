"""The pages' fields for trigger parameters agree with the workflow data and the API.

The workflows name each trigger's parameters; the API derives its request fields from them
(app/api/schemas.py), the pages declare WTForms fields. A parameter people give with some
trigger must have a page field, limited as the API limits it, or a page could send what the
API refuses (or be unable to send it at all).
"""

import pytest
from wtforms.validators import Length, NumberRange

from app.api.schemas import TRIGGER_PARAMS
from app.web.formutil import TriggerParamsForm
from app.web.technician.forms import LinkDeclineForm, StepForm
from workflows import DISPATCH, INCIDENT


def page_limits(form_class, name):
    """The max length / range of a form field, as the API's limits are written."""
    limits = {}
    for validator in getattr(form_class, name).kwargs.get("validators", []):
        if isinstance(validator, Length):
            limits["max_length"] = validator.max
        if isinstance(validator, NumberRange):
            limits |= {"ge": validator.min, "le": validator.max}
    return limits


def api_limits(name):
    _, limits = TRIGGER_PARAMS[name]
    return {k: v for k, v in limits.items() if k in ("max_length", "ge", "le")}


@pytest.mark.parametrize(("workflow", "form_class"), [
    (INCIDENT, TriggerParamsForm), (DISPATCH, StepForm)])
def test_every_parameter_people_give_has_a_page_field_limited_as_the_api(workflow, form_class):
    for name in workflow.person_params():
        assert hasattr(form_class, name), f"{form_class.__name__} has no field {name!r}"
        assert page_limits(form_class, name) == api_limits(name), name


def test_the_link_pages_decline_reason_is_limited_as_the_api():
    assert "reason" in DISPATCH.params_of("decline")
    assert page_limits(LinkDeclineForm, "reason") == api_limits("reason")


def test_no_page_field_stands_for_a_parameter_no_trigger_takes():
    taken = set(INCIDENT.person_params()) | set(DISPATCH.person_params())
    for form_class in (TriggerParamsForm, StepForm, LinkDeclineForm):
        fields = {name for name in vars(form_class)
                  if hasattr(getattr(form_class, name), "field_class")}
        assert fields <= taken, form_class.__name__
