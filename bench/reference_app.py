"""The reference of the gunicorn benchmarks: a bare Flask + SQLAlchemy app (DESIGN §8).

What a minimal Flask app does for the same requests, with none of Kaketsuke's work (no token
look-up, no validation schema, no reference number, no audit chain, no SLA clocks, no outbox,
no deduplication): it parses the JSON body and inserts rows with the ORM, one commit per
request. It runs under the same gunicorn settings as Kaketsuke (bench/serve.py), against the
same PostgreSQL database (its own tables), so the ratio of the two measures Kaketsuke's cost.

    POST /incidents   one row per request (the body of POST /api/v1/incidents)  -> 201 {"id"}
    POST /alerts      one row per alert of the body (an object or an array)     -> 202 {"ids"}
    GET  /incidents   ?state=...&state=...&limit=50: Kaketsuke's incident table, newest
                      first, joined to the organization's name (one Core SELECT) -> 200 JSON
    GET  /health      200

    DATABASE_URL=postgresql://... gunicorn 'bench.reference_app:create_app()'
"""

import os
from datetime import datetime

from flask import Flask, current_app, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, MetaData, String, Table, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import normalize_database_url
from app.domain.timeutil import utcnow

DEFAULT_LIMIT = 50


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class ReferenceIncident(db.Model):
    """An incident as a bare app would store it: the request's fields, nothing else."""

    __tablename__ = "bench_ref_incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    reporter: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceAlert(db.Model):
    """One alert of a batch, stored as received plus the fields a list would filter on."""

    __tablename__ = "bench_ref_alert"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(200))
    raw: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


def create_app(database_url=None):
    """The reference app on DATABASE_URL (its tables are made by create_tables)."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
        database_url or os.environ["DATABASE_URL"])
    db.init_app(app)
    app.add_url_rule("/health", view_func=lambda: "ok")
    app.add_url_rule("/incidents", view_func=create_incident, methods=["POST"])
    app.add_url_rule("/incidents", view_func=list_incidents, methods=["GET"])
    app.add_url_rule("/alerts", view_func=create_alerts, methods=["POST"])
    return app


def create_tables(database_url):
    """Create the reference's own tables (once, before gunicorn starts its workers)."""
    app = create_app(database_url)
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def create_incident():
    body = request.get_json()
    row = ReferenceIncident(
        organization_id=body["organization_id"], channel=body["channel"],
        category=body["category"], severity=body.get("severity", "medium"),
        summary=body["summary"], description=body.get("description", ""),
        reporter=body.get("reporter", {}))
    db.session.add(row)
    db.session.flush()  # the id, read before the commit expires the row (no reload)
    row_id = row.id
    db.session.commit()
    return jsonify(id=row_id), 201


def create_alerts():
    body = request.get_json()
    records = body if isinstance(body, list) else [body]
    rows = [ReferenceAlert(source=str(r.get("source", ""))[:32],
                           severity=str(r.get("severity", ""))[:16],
                           rule_id=str(r.get("rule_id", ""))[:200], raw=r) for r in records]
    db.session.add_all(rows)
    db.session.flush()  # one multi-row INSERT ... RETURNING id
    ids = [row.id for row in rows]
    db.session.commit()
    return jsonify(ids=ids), 202


def _kaketsuke_tables():
    """Kaketsuke's incident and organization tables, reflected once per process."""
    tables = current_app.extensions.get("bench_tables")
    if tables is None:
        meta = MetaData()
        tables = (Table("incident", meta, autoload_with=db.engine),
                  Table("organization", meta, autoload_with=db.engine))
        current_app.extensions["bench_tables"] = tables
    return tables


def list_incidents():
    """Newest incidents in the given states with their organization's name, as JSON."""
    incident, organization = _kaketsuke_tables()
    limit = request.args.get("limit", DEFAULT_LIMIT, type=int)
    stmt = select(incident, organization.c.name.label("organization_name")).join(
        organization, organization.c.id == incident.c.organization_id)
    states = request.args.getlist("state")
    if states:
        stmt = stmt.where(incident.c.state.in_(states))
    rows = db.session.execute(stmt.order_by(incident.c.id.desc()).limit(limit)).mappings()
    return jsonify(items=[{"id": r["id"], "reference": r["reference"], "state": r["state"],
                           "severity": r["severity"], "summary": r["summary"],
                           "organization": r["organization_name"],
                           "created_at": r["created_at"].isoformat()} for r in rows])
