"""The desk's screen pop: the calls ringing at the desk number, as an HTML fragment.

Every console page of a staff user polls it (static/live.js, every SCREEN_POP_SECONDS) with the
ETag of the last answer; while nothing changes the answer is an empty 304. The cost per
desk operator is in docs/architecture.md ("The screen pop and live lists").
"""

from flask import make_response, render_template, request

from app.auth import permission_required
from app.domain.timeutil import utcnow
from app.services.incidents.calls import live_calls
from app.web.admin.contracts import PLAN_LABELS
from app.web.desk import bp


@bp.get("/live/calls")
@permission_required("calls.live")
def live_calls_fragment():
    """The calls not yet ended: caller, organization, contract, open incidents (or
    "unknown number"); an empty fragment when no call is ringing."""
    html = render_template("desk/_screen_pop.html", calls=live_calls(utcnow()),
                           plans=PLAN_LABELS)
    response = make_response(html)
    response.headers["Cache-Control"] = "private, no-cache"  # each poll asks, with the ETag
    response.add_etag()  # over the body: the language and the user's view are in it
    return response.make_conditional(request)
