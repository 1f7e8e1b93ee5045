"""Monthly report tests: each test's PDFs in its own folder, the build clock frozen."""

import pytest

from app.services.reporting import monthly as reports
from tests.scenes.reports import NOW


@pytest.fixture
def reports_dir(app, tmp_path, monkeypatch):
    """REPORTS_DIR in the test's own folder."""
    folder = tmp_path / "reports"
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(folder))
    return folder


@pytest.fixture
def frozen(monkeypatch):
    """Builds that take the time themselves (CLI, page) see NOW."""
    monkeypatch.setattr(reports, "utcnow", lambda: NOW)
    return NOW


def _build_october(app, world, full):
    """October built for org A and for org C (another customer with a contract and its
    own user): {"a": report id, "c": report id, "org_c": id, "c_email": e-mail}."""
    from app.extensions import db
    from app.testkit import factories
    from tests.scenes import reports as scene

    with app.app_context():
        if full:
            scene.october(world)
        else:
            scene.alerts(world)
            scene.report(world.org_a, "ransomware", "critical", "phone", scene.T1)
        org_c = factories.make_organization(name="丙運輸")
        c_user = factories.make_user("customer", organization=org_c)
        a = reports.build_monthly_report(scene.organization(world), "2026-10", now=NOW)
        c = reports.build_monthly_report(org_c, "2026-10", now=NOW)
        ids = {"a": a.report.id, "c": c.report.id, "org_c": org_c.id, "c_email": c_user.email}
        db.session.remove()
    return ids


@pytest.fixture
def built(app, world, reports_dir):
    """October reports of A (alerts and an incident) and C, for the access tests."""
    return _build_october(app, world, full=False)


@pytest.fixture
def built_full(app, world, reports_dir):
    """October reports of A (the whole scene: visit, costs, claim) and C."""
    return _build_october(app, world, full=True)
