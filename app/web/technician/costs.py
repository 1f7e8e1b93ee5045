"""The technician's cost routes on their visit page: enter a line, fill the labour line.

templates/technician/_costs.html is included by the dispatch page; the forms and the
heads it needs come from the context processor here.
"""

from flask import redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.access import get_dispatch_for
from app.auth import permission_required
from app.services.claims import costs
from app.web.desk.costs import ButtonForm, CostForm, add_line, flash_outcome
from app.web.formutil import flash_form_errors
from app.web.technician import bp
from workflows.dispatch import VISIT_STATES
from workflows.incident import COSTS_FROZEN_STATES


def technician_cost_context():
    """What the cost partial needs: the form, the heads, which visits may take costs."""
    return {"cost_form": CostForm(formdata=None), "button_form": ButtonForm(formdata=None),
            "coverage_heads": costs.list_heads, "cost_visit_states": VISIT_STATES,
            "costs_frozen_states": COSTS_FROZEN_STATES}


bp.context_processor(technician_cost_context)


def _run(dispatch_id, form, action, success):
    if not form.validate():
        flash_form_errors(form)
    else:
        flash_outcome(action, success)
    return redirect(url_for("technician.dispatch", dispatch_id=dispatch_id, _anchor="costs"))


@bp.post("/tech/dispatches/<int:dispatch_id>/costs")
@permission_required("technician.pages")
def add_cost(dispatch_id):
    """Enter a cost line on my visit (receipts, travel, parts)."""
    dispatch = get_dispatch_for(current_user, dispatch_id)  # 404 unless it is mine
    form = CostForm()
    return _run(dispatch_id, form, lambda: add_line(dispatch.incident_id, form, dispatch.id),
                _("The cost line was recorded as a draft."))


@bp.post("/tech/dispatches/<int:dispatch_id>/labour")
@permission_required("technician.pages")
def labour(dispatch_id):
    """My visit's labour line from its recorded arrival and completion."""
    get_dispatch_for(current_user, dispatch_id)
    return _run(dispatch_id, ButtonForm(), lambda: costs.labour_line(dispatch_id, current_user),
                _("The labour line was recorded as a draft."))
