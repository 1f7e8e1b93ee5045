"""The tenant isolation matrix: every route of the app, as every role, aimed at the other
tenant's objects (DESIGN.md §9: "a customer, technician or insurer sees only what is theirs
(404 for anything else), on every page, API endpoint and download").

For each role the matrix requests every classified route (routes.py) with its path
parameters naming the other tenant's incident, dispatch, cost line, evidence, claim, packet,
contract, policy, ... by GET and, with a valid body, by its writes, and checks:
- nobody logged in: 401 (API) or the login page (pages);
- a role the route is not for: 403/404;
- a stranger (customer, technician, insurer of another tenant): 404 for the object, exactly
  what an object that does not exist gets (no hint that it exists), and the lists hold
  nothing of the other tenant;
- the staff and the other tenant's own people: 200 where the route is theirs (the matrix
  really reaches the objects: a matrix that only ever sees 404 proves nothing);
- never a 5xx; no stranger's response (body or headers) carries any of the other tenant's
  distinctive strings (name, reference, summary, ...); and after a role's whole run the
  database is as it was (only the evidence access log may grow, by the staff and owners).

The world is seeded once for the module (scene.py); each role's run is one test.
"""

from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CustodyEntry
from app.testkit.factories import PASSWORD
from app.testkit.helpers import csrf_token
from tests.conftest import empty_database
from tests.isolation import scene as scenes
from tests.isolation.routes import (
    EXCLUDED,
    FIXED_PARAMS,
    MISSING_ID,
    OBJECT_PARAMS,
    ROUTES,
)

STRANGERS = ("customer", "technician", "insurer")  # of org A, pointed at the other tenant
STAFF = ("desk", "dispatcher", "admin")
# The other tenant's own people: (their kind of role, the account in the scene).
OWNERS = {"owner_customer": ("customer", "owner_customer"),
          "owner_technician": ("technician", "other_technician"),
          "owner_insurer": ("insurer", "other_insurer")}
ROLES = ("anonymous", *STRANGERS, *STAFF, *OWNERS)
ACCESS_LOG = "custody_entry"  # reading evidence is recorded: allowed to grow for readers
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(autouse=True)
def fresh_database():
    """Replaces the suite's emptying before every test (tests/conftest.py): the module's
    tests share one seeded world, and every role's run must leave it as it was (checked)."""
    yield


@pytest.fixture(scope="module")
def scene(app):
    """The two tenants (scene.py), seeded once for the module on an emptied database."""
    with app.app_context():
        empty_database()
        seeded = scenes.seed()
        db.session.remove()
    return seeded


# ---------------------------------------------------------------- the routes


def app_rules(app):
    """Every rule of the app: (rule, endpoint)."""
    return [(rule, rule.endpoint) for rule in app.url_map.iter_rules()]


def test_every_route_is_classified(app):
    endpoints = {endpoint for _, endpoint in app_rules(app)}
    unclassified = sorted(endpoints - set(ROUTES) - set(EXCLUDED))
    assert not unclassified, (
        "Routes missing from the tenant isolation matrix: classify each in "
        "tests/isolation/routes.py (ROUTES: who may use it and a valid body for its writes; "
        "or EXCLUDED with the reason): " + ", ".join(unclassified))
    stale = sorted((set(ROUTES) | set(EXCLUDED)) - endpoints)
    assert not stale, "Classified routes that no longer exist (remove them from " \
                      "tests/isolation/routes.py): " + ", ".join(stale)


def test_every_path_parameter_has_a_value(app):
    known = set(OBJECT_PARAMS) | set(FIXED_PARAMS)
    unknown = sorted({f"{endpoint}: {name}" for rule, endpoint in app_rules(app)
                      if endpoint not in EXCLUDED for name in rule.arguments
                      if name not in known})
    assert not unknown, ("Path parameters the isolation matrix has no value for: add them "
                         "to OBJECT_PARAMS (and scene.seed()) or FIXED_PARAMS in "
                         "tests/isolation/routes.py: " + ", ".join(unknown))


def requests_of(app):
    """One request per classified route and method: its rule, Route, whether it is the
    API, and whether it names an object (in the path, or in the query string)."""
    for rule, endpoint in sorted(app_rules(app), key=lambda r: r[0].rule):
        if endpoint in EXCLUDED or endpoint not in ROUTES:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield SimpleNamespace(
                rule=rule, endpoint=endpoint, route=ROUTES[endpoint], method=method,
                api=rule.rule.startswith("/api/v1/"),
                names_object=ROUTES[endpoint].query is not None or
                any(name in OBJECT_PARAMS for name in rule.arguments))


def values(seeded, missing=False):
    """Path and body values: the other tenant's objects, or ids that do not exist."""
    objects = {name: MISSING_ID if missing else seeded.ids[name] for name in OBJECT_PARAMS}
    return {**objects, **FIXED_PARAMS}


def url_of(request, ids):
    """The path with the parameters, and the query string naming or filtering on objects."""
    path = request.rule.build({name: ids[name] for name in request.rule.arguments},
                              append_unknown=False)[1]
    query = request.route.query or request.route.filter
    return f"{path}?{urlencode(query(ids))}" if query else path


# ---------------------------------------------------------------- the caller


class Caller:
    """One role's test client: a logged-in session for pages, a bearer token for the API."""

    def __init__(self, app, seeded, role):
        self.client, self.role = app.test_client(), role
        self.kind, account = OWNERS.get(role, (role, role))
        self.token = seeded.tokens.get(account)
        if role != "anonymous":
            self._log_in(seeded.emails[account])
        self.csrf = csrf_token(self.client, "/login")

    def _log_in(self, email):
        response = self.client.post("/login", data={
            "email": email, "password": PASSWORD,
            "csrf_token": csrf_token(self.client, "/login")})
        assert response.status_code == 302, response.text

    def send(self, request, ids):
        # A page is asked for as a browser does from our own pages (Sec-Fetch-Site).
        headers = {"Authorization": f"Bearer {self.token}"} if request.api and self.token \
            else {} if request.api else {"Sec-Fetch-Site": "same-origin"}
        kwargs = {}
        if request.method in WRITE_METHODS and request.method != "DELETE":
            body = request.route.body(ids) if request.route.body else {}
            multipart = any(isinstance(v, tuple) for v in body.values())
            if request.api and not multipart:
                kwargs["json"] = body
            else:
                kwargs["data"] = body if request.api else {**body, "csrf_token": self.csrf}
        response = self.client.open(url_of(request, ids), method=request.method,
                                    headers=headers, **kwargs)
        response.get_data()  # read a download whole, then close its file
        response.close()
        response.flashes = self._take_flashes()
        return response

    def _take_flashes(self):
        """What a page flashed (and would show on the next page), taken out of the session."""
        with self.client.session_transaction() as session:
            return session.pop("_flashes", [])


def outcome(response):
    """What a caller learns from a refusal: status, error code, flashed messages."""
    code = response.json.get("error", {}).get("code") if response.is_json else None
    return response.status_code, code, tuple(response.flashes)


def to_login(response):
    return response.status_code == 302 and \
        response.headers.get("Location", "").split("?")[0].endswith("/login")


def bounced(request, response):
    """A page write refused by a flash and a redirect back (not to the login page)."""
    return not request.api and request.method in WRITE_METHODS and \
        300 <= response.status_code < 400 and not to_login(response)


# ---------------------------------------------------------------- the expectations


def expectation(caller, request):
    """What this role should get here: public, login, ok, hidden, refused, listed or skip."""
    route = request.route
    if route.public:
        return "public"
    if caller.role == "anonymous":
        return "login"
    if caller.kind in route.roles:
        if caller.role in STRANGERS:
            return "hidden" if request.names_object else "listed"
        # The staff's and the owners' own writes are the feature tests' business.
        return "skip" if request.method in WRITE_METHODS else "ok"
    return "refused"


def problems_of(caller, request, seeded):
    """What is wrong with one request of one role ([] when all is well)."""
    expected = expectation(caller, request)
    if expected == "skip":
        return []
    ids = values(seeded)
    response = caller.send(request, ids)
    where = f"{caller.role} {request.method} {url_of(request, ids)} " \
            f"({request.endpoint}, expected {expected}): got {response.status_code}"
    found = []
    if response.status_code >= 500:
        return [f"{where}: a server error"]
    if caller.role == "anonymous" or caller.role in STRANGERS:
        text = response.get_data() + str(response.headers).encode()
        leaked = [s for s in seeded.secrets if s.encode() in text]
        if leaked:
            found.append(f"{where}: the other tenant's {leaked} in the response")
    if not status_fits(expected, request, response):
        found.append(where)
    if caller.role in STRANGERS and expected in ("hidden", "refused", "listed") and \
            (request.names_object or request.method in WRITE_METHODS):
        missing = caller.send(request, values(seeded, missing=True))
        if outcome(response) != outcome(missing):
            found.append(f"{where}: {outcome(response)} differs from an object that does "
                         f"not exist: {outcome(missing)} (tells that it exists)")
    return found


def status_fits(expected, request, response):
    status = response.status_code
    if expected == "public":
        return True
    if expected == "login":
        return status == 401 if request.api else to_login(response)
    if expected == "ok":
        return status in request.route.ok
    if expected == "hidden":
        return status == 404 or bounced(request, response)
    if expected == "listed":  # a stranger's list or create: their own, or refused
        return status in request.route.ok if request.method == "GET" else status < 500
    return status in request.route.refused or bounced(request, response)  # refused


# ---------------------------------------------------------------- the runs


def snapshot(app):
    """Every row of every table but the evidence access log; and that log's size."""
    with app.app_context():
        rows = {table.name: sorted(repr(tuple(row)) for row in
                                   db.session.execute(table.select()).all())
                for table in db.metadata.sorted_tables if table.name != ACCESS_LOG}
        reads = db.session.scalar(select(func.count(CustodyEntry.id)))
        db.session.remove()
    return rows, reads


def matrix_problems(app, seeded, role, reads_only=False):
    """Everything wrong with one role's run over every classified route ([] when none)."""
    caller = Caller(app, seeded, role)
    rows, reads = snapshot(app)
    problems = [problem for request in requests_of(app)
                if not (reads_only and request.method in WRITE_METHODS)
                for problem in problems_of(caller, request, seeded)]
    after, reads_after = snapshot(app)
    changed = sorted(name for name in rows if rows[name] != after[name])
    if changed:
        problems.append(f"{role}'s requests changed the tables {changed}")
    if (role == "anonymous" or role in STRANGERS) and reads_after != reads:
        problems.append(f"{role} read evidence (its access log grew)")
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_the_role_reaches_only_what_is_theirs(app, scene, role):
    problems = matrix_problems(app, scene, role)
    assert not problems, f"{len(problems)} isolation problems:\n" + "\n".join(problems)


def test_the_matrix_catches_a_hole_in_the_scoping(app, scene, monkeypatch):
    """A matrix that cannot fail proves nothing: let technicians see every incident, and
    the technician's run must report the other tenant's incident, in the API and pages.
    (Reads only: a write let through would change the module's shared world.)"""
    from app import access

    monkeypatch.setattr(access, "scope_incidents", lambda stmt, user: stmt)
    problems = "\n".join(matrix_problems(app, scene, "technician", reads_only=True))
    incident = scene.ids["incident_id"]
    for leak in (f"GET /api/v1/incidents/{incident} (api.get_incident",
                 f"GET /desk/incidents/{incident} (desk.incident",
                 "GET /api/v1/incidents?organization_id="):
        assert leak in problems, problems
