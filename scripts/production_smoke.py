"""Production smoke run: the README's "Running in production" as a new operator does it.

On this machine, with nothing of the development set-up: a fresh PostgreSQL database, the
settings only from the environment (a random SECRET_KEY and CLAIM_SIGNING_KEY, PUBLIC_BASE_URL,
NOTIFY_PROVIDER=twilio with TWILIO_BASE_URL at the test suite's fake Twilio server, SMTP at
the test SMTP server, evidence in a temporary folder), `flask db upgrade`, gunicorn with
several workers and two `flask worker` processes started with the README's commands. Then one
incident end to end:

    users, API tokens and the customer organization by CLI → insurer, policy, contract,
    technician and shift by API → the technician's login by CLI → intake by API → triage →
    dispatch requested → the technician's SMS arrives at the fake Twilio → its signed accept
    link is followed (page + form) → depart / arrive / complete (the technician's own token
    through the API) → evidence and a cost line,
    approved → claim prepared and submitted → the packet downloaded → `flask claims verify`
    with the public key → `flask audit verify` → SIGTERM: gunicorn and the workers exit 0.

Every step is printed; the exit code is 0 only if every step passed. Everything started is
stopped (process groups) and the database is dropped at the end (unless --keep).

    .venv/bin/python -m scripts.production_smoke
"""

import argparse
import base64
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.testkit.fake_smtp import FakeSmtp
from app.testkit.fake_twilio import FakeTwilio
from bench import serve
from bench.common import bench_url, drop_database, plain_url, recreate_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_production_smoke"
WEB_WORKERS = 3
WORKERS = 2
PASSWORD = secrets.token_urlsafe(12)  # every login of this run
TECHNICIAN_PHONE = "+819012345678"
REPORTER_PHONE = "+819087654321"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK = re.compile(r"https?://\S+/a/[\w.\-]+")
ORGANIZATION_PHONE = "+81355550000"
ORGANIZATION_ID = re.compile(r"\(id (\d+);")


class StepFailed(Exception):
    """A step did not do what the README says it does."""


class Smoke:
    """The run's state: environment, processes, fakes, tokens and ids; prints each step."""

    def __init__(self, url, workdir):
        self.url, self.workdir, self.number, self.ids, self.tokens = url, workdir, 0, {}, {}
        self.twilio = FakeTwilio().start()
        self.smtp = FakeSmtp(username="mailer", password="mail-secret").start()
        self.port = serve.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.signing_key = _signing_key()
        self.env = self._environment()
        self.running = serve.Running(serve.Layout(self.env["DATABASE_URL"]), self.base,
                                     workdir, self.env)
        self.http = requests.Session()

    def _environment(self):
        """What the README's production block exports, aimed at this machine and the fakes."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith(
            ("DATABASE_URL", "SECRET_KEY", "TWILIO_", "SMTP_", "NOTIFY_", "FLASK_"))}
        return keep | {
            "DATABASE_URL": plain_url(self.url),
            "SECRET_KEY": secrets.token_urlsafe(48), "PUBLIC_BASE_URL": self.base,
            # No TLS here: Secure cookies would never be sent back over plain HTTP.
            "SESSION_COOKIE_SECURE": "0",
            "NOTIFY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token, "TWILIO_FROM_NUMBER": "+815012345678",
            "TWILIO_BASE_URL": self.twilio.base_url, "SMTP_HOST": self.smtp.host,
            "SMTP_PORT": str(self.smtp.port), "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "mail-secret", "MAIL_FROM": "desk@smoke.example",
            "CLAIM_SIGNING_KEY": self.signing_key, "EVIDENCE_DIR": str(self.workdir / "evidence"),
            "REPORTS_DIR": str(self.workdir / "reports"), "PYTHONUNBUFFERED": "1"}

    def step(self, title, action):
        """Run one step: print it, then OK with what it returned, or FAIL and stop."""
        self.number += 1
        print(f"[{self.number:2d}] {title} ... ", end="", flush=True)
        try:
            detail = action()
        except Exception as exc:
            print(f"FAIL: {type(exc).__name__}: {exc}", flush=True)
            raise StepFailed(title) from exc
        print(f"OK{': ' + _shown(detail) if detail else ''}", flush=True)
        return detail

    # ------------------------------------------------------------ commands and processes

    def flask(self, *args, stdin=None):
        """`flask --app wsgi ARGS` with the production environment; its stdout."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                              cwd=ROOT, env=self.env, input=stdin, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} exited {done.returncode}: "
                               f"{(done.stderr or done.stdout).strip()[-800:]}")
        return done.stdout

    def start_gunicorn(self):
        command = [str(Path(sys.executable).parent / "gunicorn"), "--workers",
                   str(WEB_WORKERS), "--bind", f"127.0.0.1:{self.port}", "--access-logfile",
                   "-", "wsgi:app"]  # the README's line, on a local port
        web = serve.spawn("gunicorn", command, self.env, self.workdir)
        self.running.children.append(web)
        serve.wait_until(lambda: serve.answers(self.base, "/login"), web, "healthy")
        return f"{WEB_WORKERS} workers at {self.base}"

    def start_workers(self):
        for n in range(WORKERS):
            worker = serve.spawn(f"worker{n + 1}", [sys.executable, "-m", "flask", "--app",
                                                    "wsgi", "worker"], self.env, self.workdir)
            self.running.children.append(worker)
            serve.wait_until(lambda w=worker: "worker started (twilio provider, postgresql"
                             in w.log.read_text(errors="replace"), worker, "ready")
        return f"{WORKERS} workers listening (twilio provider, postgresql)"

    # ------------------------------------------------------------ HTTP

    def api(self, method, path, role, expect, **kwargs):
        """Call the API as `role`; the JSON answer, or fail unless the status is `expect`."""
        answer = self.http.request(method, f"{self.base}/api/v1{path}", timeout=30, headers={
            "Authorization": f"Bearer {self.tokens[role]}"}, **kwargs)
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:400]}")
        return answer.json() if answer.content else None

    def wait_sms(self, to, contains, timeout=10):
        """The body of the first SMS to `to` containing `contains` at the fake Twilio."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recorded in list(self.twilio.messages):
                body = recorded.form.get("Body", "")
                if recorded.form.get("To") == to and contains in body:
                    return body
            time.sleep(0.05)
        raise RuntimeError(f"no SMS to {to} naming {contains} within {timeout} s")

    def shut_down(self):
        """SIGTERM gunicorn and the workers (their process groups); each must exit 0."""
        children = list(self.running.children)
        self.running.stop()
        codes = {child.name: child.process.returncode for child in children}
        if any(codes.values()):
            raise RuntimeError(f"exit codes {codes}")
        return ", ".join(f"{name} 0" for name in codes)

    def stop(self):
        self.running.stop()
        self.twilio.stop()
        self.smtp.stop()


def _shown(detail):
    """What a step's result says in one short line (ids, not whole records or secrets)."""
    if isinstance(detail, dict):
        return ", ".join(f"{k} {detail[k]}" for k in ("id", "reference", "state", "status")
                         if k in detail)
    text = str(detail)
    return text[:12] + "… (secret, printed once)" if text.startswith("kkt_") else text


def _signing_key():
    """A fresh CLAIM_SIGNING_KEY: base64 of 32 raw Ed25519 private-key bytes."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def _public_key(signing_key):
    """The public key insurers are given, base64 of its 32 raw bytes."""
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(signing_key))
    return base64.b64encode(private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


# ---------------------------------------------------------------- the steps


def set_up(smoke):
    """Database, migrations, people and tokens, processes (README: Running in production)."""
    smoke.step("create the PostgreSQL database", lambda: recreate_database(smoke.url)
               or smoke.url.database)
    smoke.step("compile the translations (scripts/compile_translations.py)", lambda: (
        subprocess.run([sys.executable, "scripts/compile_translations.py"], cwd=ROOT,
                       check=True, capture_output=True) and None))
    smoke.step("flask db upgrade", lambda: smoke.flask("db", "upgrade") and "migrated")
    for role, name in (("admin", "管理者"), ("desk", "受付 花子"),
                       ("dispatcher", "手配 太郎")):
        email = f"{role}@smoke.example"
        smoke.step(f"flask user create {email} --role {role}", lambda e=email, r=role, n=name:
                   smoke.flask("user", "create", e, "--role", r, "--name", n,
                               "--password", PASSWORD).strip())
        smoke.tokens[role] = smoke.step(f"flask token create {email}", lambda e=email: (
            smoke.flask("token", "create", e).strip()))
    smoke.ids["organization"] = smoke.step(
        "flask org create SMK-0001 (the customer organization and its phone)",
        lambda: int(ORGANIZATION_ID.search(smoke.flask(
            "org", "create", "SMK-0001", "--name", "株式会社スモーク精機", "--prefecture", "13",
            "--address", "東京都千代田区丸の内1-1", "--industry", "製造業", "--employees", "30",
            "--phone", ORGANIZATION_PHONE)).group(1)))
    smoke.step("gunicorn --workers N --access-logfile - wsgi:app", smoke.start_gunicorn)
    smoke.step("flask worker (two processes)", smoke.start_workers)


def administration(smoke):
    """Insurer, policy and its terms, contract, technician and shift: the admin API."""
    today = date.today()
    insurer = smoke.step("POST /insurers", lambda: smoke.api("POST", "/insurers", "admin", 201,
                         json={"code": "SMOKE-INS", "name": "スモーク損害保険"}))
    policy = smoke.step("POST /policies", lambda: smoke.api("POST", "/policies", "admin", 201,
                        json={"number": "SMK-POL-1", "insurer_id": insurer["id"],
                              "organization_id": smoke.ids["organization"],
                              "starts_on": str(today - timedelta(days=30)),
                              "ends_on": str(today + timedelta(days=335)),
                              "per_incident_limit": 1_000_000,
                              "annual_aggregate": 3_000_000}))
    smoke.step("PUT /policies/{id}/terms", lambda: smoke.api(
        "PUT", f"/policies/{policy['id']}/terms", "admin", 200, json={
            "per_incident_limit": 1_000_000, "annual_aggregate": 3_000_000, "deductible": 0,
            "heads": {"dispatch": {"payout_ratio": 100, "sub_limit": 300_000},
                      "investigation": {"payout_ratio": 90, "sub_limit": 500_000}}}) and
        "dispatch 100%, investigation 90%")
    smoke.step("POST /organizations/{id}/contracts (on-site support)", lambda: smoke.api(
        "POST", f"/organizations/{smoke.ids['organization']}/contracts", "admin", 201, json={
            "plan": "combined", "monthly_fee": 9000, "onsite_support": True,
            "starts_on": str(today - timedelta(days=30)), "policy_id": policy["id"]})["id"])
    technician = smoke.step("POST /technicians", lambda: smoke.api(
        "POST", "/technicians", "admin", 201, json={
            "name": "佐藤 健", "company": "駆付けサポート株式会社", "phone": TECHNICIAN_PHONE,
            "prefectures": [13], "skills": ["ransomware", "malware"], "hourly_rate": 9000}))
    smoke.ids["technician"] = technician["id"]
    email = "sato@smoke.example"
    smoke.step(f"flask user create {email} --role technician --technician ID", lambda: (
        smoke.flask("user", "create", email, "--role", "technician", "--name", "佐藤 健",
                    "--technician", str(technician["id"]), "--password", PASSWORD).strip()))
    smoke.tokens["technician"] = smoke.step(f"flask token create {email}", lambda: (
        smoke.flask("token", "create", email).strip()))
    now = time.time()
    smoke.step("POST /technicians/{id}/shifts (on call now)", lambda: smoke.api(
        "POST", f"/technicians/{technician['id']}/shifts", "admin", 201, json={
            "starts_at": _iso(now - 60), "ends_at": _iso(now + 12 * 3600),
            "note": "smoke"})["id"])


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def dispatch(smoke):
    """Intake → dispatch requested → SMS → the accept link followed."""
    incident = smoke.step("POST /incidents (intake by API)", lambda: smoke.api(
        "POST", "/incidents", "desk", 201, json={
            "organization_id": smoke.ids["organization"], "channel": "phone",
            "category": "ransomware", "severity": "critical",
            "summary": "画面に身代金要求が表示された",
            "reporter": {"name": "田中 一郎", "phone": REPORTER_PHONE}}))
    smoke.ids["incident"], reference = incident["id"], incident["reference"]
    path = f"/incidents/{incident['id']}/transitions"
    smoke.step("start_triage", lambda: smoke.api("POST", path, "desk", 200, json={
        "trigger": "start_triage"})["state"])
    smoke.step("request_dispatch", lambda: smoke.api("POST", path, "desk", 200, json={
        "trigger": "request_dispatch"})["state"])
    body = smoke.step("the technician's SMS arrives at the fake Twilio", lambda: smoke.wait_sms(
        TECHNICIAN_PHONE, reference).replace("\n", " / "))
    link = smoke.step("the SMS has a link at PUBLIC_BASE_URL", lambda: _link_in(body, smoke.base))
    smoke.step("follow the link and accept (page and form, no login)",
               lambda: accept_by_link(link))
    smoke.step("the incident is technician_assigned", lambda: _check(smoke.api(
        "GET", f"/incidents/{incident['id']}", "desk", 200)["state"] == "technician_assigned",
        "technician_assigned"))


def _link_in(body, base_url):
    """The one-tap link of an offer SMS; it must point at PUBLIC_BASE_URL."""
    found = LINK.search(body)
    if found is None or not found.group(0).startswith(base_url + "/a/"):
        raise RuntimeError(f"no link to {base_url}/a/... in the SMS")
    return found.group(0)


def accept_by_link(link):
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    if page.status_code != 200:
        raise RuntimeError(f"the link page answered {page.status_code}")
    answer = browser.post(link + "/accept", timeout=30,
                          data={"csrf_token": CSRF.search(page.text).group(1)})
    if answer.status_code != 200:
        raise RuntimeError(f"accepting answered {answer.status_code}: {answer.text[:300]}")
    return "accepted"


def _check(condition, detail):
    if not condition:
        raise RuntimeError(f"unexpected: {detail}")
    return detail


def visit(smoke):
    """The visit through the API: the technician fires their steps with their own token."""
    dispatches = smoke.api("GET", f"/incidents/{smoke.ids['incident']}/dispatches",
                           "dispatcher", 200)["items"]
    smoke.ids["dispatch"] = dispatches[0]["id"]
    path = f"/dispatches/{smoke.ids['dispatch']}/transitions"
    for trigger, extra in (("depart", {}), ("arrive", {}), ("complete", {
            "work_report": "感染端末を隔離し、ログを保全した。", "signoff_name": "田中 一郎"})):
        smoke.step(f"{trigger} (POST /dispatches/{{id}}/transitions, the technician)",
                   lambda t=trigger, e=extra: smoke.api(
                       "POST", path, "technician", 200, json={"trigger": t, **e})["state"])
    smoke.step("the reporter got the en-route SMS", lambda: smoke.wait_sms(
        REPORTER_PHONE, "").split("\n")[0][:60])


def claim(smoke):
    """Evidence, a cost line approved, the claim submitted, its packet verified by CLI."""
    incident = smoke.ids["incident"]
    receipt = ("領収書\n駆付け費用 16,000円（税別）\n株式会社スモーク精機 御中\n").encode()
    evidence = smoke.step("POST /incidents/{id}/evidence (a receipt)", lambda: smoke.api(
        "POST", f"/incidents/{incident}/evidence", "dispatcher", 201,
        files={"file": ("receipt.txt", receipt, "text/plain")},
        data={"kind": "receipt", "description": "駆付け費用の領収書"}))
    cost = smoke.step("POST /incidents/{id}/costs (dispatch fee)", lambda: smoke.api(
        "POST", f"/incidents/{incident}/costs", "dispatcher", 201, json={
            "head": "dispatch", "description": "駆付け費用", "quantity": "1",
            "unit_price": 16000, "incurred_on": str(date.today()),
            "dispatch_id": smoke.ids["dispatch"], "evidence_ids": [evidence["id"]]}))
    smoke.step("POST /costs/{id}/approve", lambda: smoke.api(
        "POST", f"/costs/{cost['id']}/approve", "desk", 200, json={})["status"])
    path = f"/incidents/{incident}/transitions"
    for trigger in ("prepare_claim", "submit_claim"):
        smoke.step(trigger, lambda t=trigger: smoke.api("POST", path, "desk", 200, json={
            "trigger": t})["state"])
    claims = smoke.api("GET", "/claims", "desk", 200)["items"]
    claim_id = next(c["id"] for c in claims if c["incident_id"] == incident)
    packet = smoke.workdir / "packet.zip"
    smoke.step("GET /claims/{id}/packet", lambda: download(smoke, claim_id, packet))
    smoke.step("flask claims verify PACKET.zip --public-key KEY", lambda: smoke.flask(
        "claims", "verify", str(packet), "--public-key",
        _public_key(smoke.signing_key)).strip())
    smoke.step("flask audit verify", lambda: smoke.flask("audit", "verify").strip())


def download(smoke, claim_id, path):
    answer = smoke.http.get(f"{smoke.base}/api/v1/claims/{claim_id}/packet", timeout=60,
                            headers={"Authorization": f"Bearer {smoke.tokens['desk']}"})
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code} {answer.text[:300]}")
    path.write_bytes(answer.content)
    return f"{len(answer.content):,} bytes"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="scratch database, DROPPED and recreated (name contains 'bench')")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args(argv)
    url = bench_url(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="kaketsuke-smoke-"))
    smoke = Smoke(url, workdir)
    ok = False
    try:
        for part in (set_up, administration, dispatch, visit, claim):
            part(smoke)
        smoke.step("SIGTERM gunicorn and the workers: each exits cleanly", smoke.shut_down)
        ok = True
    except StepFailed:
        for child in smoke.running.children:
            print(f"--- {child.name} log (last lines) ---\n{child.tail(15)}")
    finally:
        smoke.stop()
        if not args.keep:
            drop_database(url)
    print(f"logs in {workdir}")
    print("production smoke: " + ("PASS (every step passed)" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
