"""A chunked upload (Transfer-Encoding: chunked, no Content-Length) over a real socket, to the
app served by werkzeug's server and by gunicorn (as in production) on free ports: read whole
under ALERT_MAX_BYTES, 413 over it, never a cut body answered 202 (issue 12: 991 of 2,200
lines were stored)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.config import BASE_DIR
from app.extensions import db
from app.models import Alert, Organization
from app.services.monitoring import ingest as service

LIMIT = 200_000  # ALERT_MAX_BYTES of both servers: 2,200 lines fit, 4,000 do not


@pytest.fixture
def werkzeug_server(app, monkeypatch):
    """The test app on 127.0.0.1 (a free port) in a thread; yields the port."""
    monkeypatch.setitem(app.config, "ALERT_MAX_BYTES", LIMIT)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="alert-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def gunicorn_server(app, tmp_path):
    """gunicorn serving wsgi:app on the test database, on a socket bound here first (so the
    requests wait in its backlog until the worker accepts them: no polling); the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "ALERT_MAX_BYTES": str(LIMIT), "EVIDENCE_DIR": str(tmp_path / "evidence"),
           "REPORTS_DIR": str(tmp_path / "reports"), "NOTIFY_PROVIDER": "console"}
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", "1",
               "--bind", f"fd://{listener.fileno()}", "wsgi:app"]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, pass_fds=[listener.fileno()],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield listener.getsockname()[1]
    finally:
        process.terminate()
        process.wait(20)
        listener.close()


@pytest.fixture(params=["werkzeug_server", "gunicorn_server"])
def port(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def key(app, world):
    with app.app_context():
        plain = service.create_ingest_key(db.session.get(Organization, world.org_a))
        db.session.remove()
    return plain


def lines(count):
    return [f"CEF:0|V|P|1|R{n}|Rule {n}|3|rt=1796518800000 src=192.0.2.1\n".encode()
            for n in range(count)]


def post_chunked(port, key, pieces):
    """POST the pieces as HTTP/1.1 chunks (one chunk each); (status, JSON answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/api/v1/alerts", body=iter(pieces), encode_chunked=True,
                           headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "text/plain"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def stored(app):
    with app.app_context():
        count = db.session.scalar(select(func.count(Alert.id)))
        db.session.remove()
    return count


def test_a_chunked_upload_is_stored_whole(app, port, key):
    pieces = lines(2200)
    assert sum(map(len, pieces)) < LIMIT
    status, answer = post_chunked(port, key, pieces)
    assert status == 202 and len(answer["results"]) == 2200
    assert {r["outcome"] for r in answer["results"]} == {"accepted"}
    assert stored(app) == 2200


def test_a_chunked_upload_over_the_limit_is_413_and_nothing_is_stored(app, port, key):
    pieces = lines(4000)
    assert sum(map(len, pieces)) > LIMIT
    status, answer = post_chunked(port, key, pieces)
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    assert stored(app) == 0
