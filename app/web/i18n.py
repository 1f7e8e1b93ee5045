"""Language choice (Japanese by default, English on request) and template helpers."""

import functools

from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from app import access
from app.domain import labels, timeline
from app.rendering.formats import yen
from app.services.incidents.sla import as_running, running_by_urgency
from app.services.incidents.timeline_text import DatabaseNames, describe

LANG_COOKIE = "lang"


def select_locale():
    """?lang= for this request, else the language cookie, else Japanese."""
    supported = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in supported:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def tell_event(event):
    """`tell_event(e)` in templates: a timeline event (or its mapping in a notice) as a
    sentence with its details and note (app/domain/timeline.py), names read once per
    request."""
    if not has_request_context():  # the worker renders messages in one long app context
        return describe(event)
    try:
        names = g.kaketsuke_timeline_names
    except AttributeError:
        names = g.kaketsuke_timeline_names = DatabaseNames()
    return describe(event, names)


# Looking up one translation costs about 10 µs (Flask-Babel finds the request's locale and
# catalog anew each time), more than the rest of a list row's markup. Lists of many rows
# translate each label once per page with these two: `translated(CATEGORY_LABELS)` (a dict of
# lazy labels as plain strings) and `memoized(state_badge)` (a label macro remembering its
# output per argument). Both live for one page only, so each request keeps its language.


def translated(lazy_labels):
    """{code: label} with each lazy label translated now, once."""
    return {code: str(label) for code, label in lazy_labels.items()}


def memoized(macro):
    """`macro` calling through once per distinct arguments, for one page."""
    return functools.cache(macro)


def _translations():
    """The catalog of the locale in force, found once per request and locale.

    Flask-Babel finds the locale and its catalog anew for every string (about 10 µs: nine
    look-ups of `g`), and a list page translates a few hundred. The pair is kept in
    Flask-Babel's own per-request state, keyed by the locale object, so that force_locale()
    (messages in the recipient's language) is followed.
    """
    try:
        state = g._flask_babel
    except (AttributeError, RuntimeError):  # Flask-Babel's first look-up, or no app context
        return get_translations()
    cached = getattr(state, "kaketsuke_catalog", None)
    if cached is not None and cached[0] is getattr(state, "babel_locale", None):
        return cached[1]
    translations = get_translations()
    state.kaketsuke_catalog = (get_locale(), translations)
    return translations


def gettext(string, **variables):
    """flask_babel.gettext through the per-request catalog: for helpers that templates call
    once per row."""
    translated = _translations().ugettext(string)
    return translated % variables if variables else translated


def minutes_text(minutes, days=True):
    """Whole minutes as people read them: 45 min, 3 h 5 min, 2 d 4 h. Business clocks
    count business minutes, so their targets are not shown in days (days=False)."""
    if minutes < 60:
        return gettext("%(m)s min", m=minutes)
    if minutes < 1440 or not days:
        return gettext("%(h)s h %(m)s min", h=minutes // 60, m=minutes % 60)
    return gettext("%(d)s d %(h)s h", d=minutes // 1440, h=minutes % 1440 // 60)


def time_left(running):
    """How long a running clock (sla.RunningClock) has left, or how long it is overdue."""
    if running.left is not None:
        return gettext("%(time)s left", time=minutes_text(running.left))
    return gettext("%(time)s overdue", time=minutes_text(running.overdue))


@pass_eval_context
def _template_gettext(eval_ctx, string, **variables):
    """`_()` in templates: Jinja's newstyle gettext (escaped variables, always formatted),
    in one Jinja call instead of its three (alias, wrapper, callable)."""
    translated = _translations().ugettext(string)
    if eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables


def _install_gettext(env):
    """Templates translate through _translations(), with Jinja's newstyle semantics."""
    env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    # `_` and `gettext` (also what {% trans %} calls) make most of a page's translations:
    # replace the extension's three-call chain for them with one call.
    env.globals["_"] = env.globals["gettext"] = _template_gettext


def can(action):
    """`can('action')` in templates: whether the signed-in user's role may take it
    (app/access.py), so pages show exactly the links and buttons their user may use."""
    return access.can(current_user, action)


def init_app(app):
    """Make labels, the JST filter and `can` available to every template (after
    Flask-Babel)."""
    _install_gettext(app.jinja_env)
    # A stored UTC datetime (or ISO 8601 text of a JSON document) in Japan time.
    app.jinja_env.filters["jst"] = timeline.when
    app.jinja_env.filters["prefecture"] = labels.prefecture_name
    app.jinja_env.filters["actor"] = timeline.actor
    app.jinja_env.globals.update(
        STATE_LABELS=labels.STATE_LABELS, TRIGGER_LABELS=labels.TRIGGER_LABELS,
        CATEGORY_LABELS=labels.CATEGORY_LABELS, SEVERITY_LABELS=labels.SEVERITY_LABELS,
        CHANNEL_LABELS=labels.CHANNEL_LABELS, SOURCE_LABELS=labels.SOURCE_LABELS,
        ROLE_LABELS=labels.ROLE_LABELS, current_locale=select_locale,
        translated=translated, memoized=memoized,
        as_running=as_running, running_by_urgency=running_by_urgency, minutes_text=minutes_text,
        time_left=time_left, can=can, yen=yen, tell_event=tell_event,
        NOTICE_LABELS=labels.NOTICE_LABELS,
    )

