"""Hostile input refused once, at the boundary, for every route (docs/security.md).

- Text with a NUL (PostgreSQL's text refuses it) or a lone surrogate (not UTF-8) in the query,
  the path, a form (field names, values, file names) or a JSON body (keys and strings at any
  depth), and JSON nested deeper than MAX_JSON_DEPTH: the API answers 422
  `validation_error`, pages a 400 page; no view runs, so nothing is written.
- `<int:...>` in a page's or webhook's route matches only ids an INTEGER column can hold: a
  larger one is a 404 (the API's `Id` type answers 422 for its own).

Alert ingest reads its raw body itself; its parser refuses the same text (app/domain/alerts).
"""

from flask import Request, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from app.domain.safetext import MAX_JSON_DEPTH, json_problem, unsafe
from app.errors import InvalidInput
from app.extensions import spend_view_limits
from app.models import MAX_INTEGER

RAW_BODY_ENDPOINTS = ("api.ingest_alerts",)  # read from the stream by the view


class BoundedIntegerConverter(IntegerConverter):
    """Flask's `int`, limited to what an INTEGER column holds (2^31-1): beyond, no route."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_INTEGER, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


def refuse(where):
    """Stop the request: 422 in the API's error shape, a 400 page for people; it still
    counts against the view's rate limit."""
    spend_view_limits()
    if request.path.startswith("/api/"):
        raise InvalidInput("The request holds text or JSON that is not accepted.",
                           {"reason": where})
    raise BadRequest(_("The request holds characters that are not accepted."))


class HardenedRequest(Request):
    """Checks form data and JSON bodies as they are parsed, wherever they are first read."""

    def _load_form_data(self):
        super()._load_form_data()
        problem = _multidict_problem(self.form, "form") or _files_problem(self.files)
        if problem:  # later reads (an error page) see nothing of it
            for upload in self.files.values():
                upload.close()
            self.__dict__["form"] = self.__dict__["files"] = ImmutableMultiDict()
            refuse(problem)

    def get_json(self, force=False, silent=False, cache=True):
        """The parsed body; refused when too deep or holding NUL or lone surrogates."""
        try:
            document = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            refuse(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        problem = json_problem(document)
        if problem:
            self._cached_json = (None, None)
            refuse(f"JSON body: {problem}")
        return document


def _multidict_problem(values, where):
    for key, value in values.items(multi=True):
        if unsafe(key) or unsafe(value):
            return f"{where}: a NUL or a lone surrogate"
    return None


def _files_problem(files):
    for key, upload in files.items(multi=True):
        if unsafe(key) or unsafe(upload.filename or ""):
            return "file name: a NUL or a lone surrogate"
    return None


def _check_request():
    """Read the path, query, form and JSON body once, before any view."""
    problem = _multidict_problem(request.args, "query")
    if problem is None and any(unsafe(value) for value in (request.view_args or {}).values()):
        problem = "path: a NUL or a lone surrogate"
    if problem:
        refuse(problem)
    if request.endpoint in RAW_BODY_ENDPOINTS:
        return
    if request.mimetype == "application/x-www-form-urlencoded":
        request.form  # noqa: B018  (checked as it is parsed; multipart waits for its view)
    if request.is_json:
        request.get_json(silent=True)


def init_app(app):
    """Check every request's text and JSON before any view."""
    app.request_class = HardenedRequest
    app.before_request(_check_request)


def bound_integer_routes(app):
    """`<int:...>` in the routes registered from now on matches ids up to 2^31-1 only."""
    app.url_map.converters["int"] = BoundedIntegerConverter
