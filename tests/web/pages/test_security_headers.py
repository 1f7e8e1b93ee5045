"""Security headers on pages, API answers and errors; the production (HTTPS) settings."""

import pytest

from app.config import DEV_SECRET_KEY, Config, ProductionConfig, config_for_environment
from app.testkit import factories
from app.testkit.helpers import csrf_token
from tests.web.pages.test_rate_limits import another_app

PRODUCTION_SECRET = "k" * 48
HTTPS = "https://desk.example.jp"
COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
          "Referrer-Policy": "same-origin"}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_common_headers(response):
    for name, value in COMMON.items():
        assert response.headers[name] == value, name


def assert_page_csp(response):
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy


def bearer(world, role="desk"):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def test_a_page_carries_the_headers_and_no_hsts_over_plain_http(client):
    page = client.get("/report")
    assert page.status_code == 200
    assert_common_headers(page)
    assert_page_csp(page)
    assert "Strict-Transport-Security" not in page.headers


def test_an_api_answer_carries_the_headers_and_a_policy_that_allows_nothing(client, world):
    response = client.get("/api/v1/organizations", headers=bearer(world))
    assert response.status_code == 200
    assert_common_headers(response)
    assert response.headers["Content-Security-Policy"] == API_CSP


@pytest.mark.parametrize(("path", "status", "kind"), [
    ("/no-such-page", 404, "page"),
    ("/desk/", 302, "page"),
    ("/api/v1/no-such-thing", 404, "api"),
    ("/api/v1/incidents", 401, "api"),
])
def test_error_answers_carry_the_headers(client, path, status, kind):
    response = client.get(path)
    assert response.status_code == status
    assert_common_headers(response)
    if kind == "page":
        assert_page_csp(response)
    else:
        assert response.headers["Content-Security-Policy"] == API_CSP


def test_an_unexpected_error_page_carries_the_headers(client, monkeypatch):
    from app.web.public import views

    def broken():
        raise RuntimeError("boom")
    monkeypatch.setattr(views, "_my_incidents", broken)
    page = client.get("/report")
    assert page.status_code == 500
    assert "boom" not in page.text
    assert_common_headers(page)
    assert_page_csp(page)


def test_the_api_document_page_keeps_its_own_script_allowed(client):
    page = client.get("/api/swagger")
    assert page.status_code == 200
    assert_common_headers(page)
    assert "Content-Security-Policy" not in page.headers  # swagger-ui runs an inline script


@pytest.fixture
def production(app):
    with another_app(app, ProductionConfig, SECRET_KEY=PRODUCTION_SECRET) as application:
        yield application


def test_production_sends_hsts_on_pages_api_and_errors(production, world):
    client = production.test_client()
    answers = [client.get(f"{HTTPS}/report"), client.get(f"{HTTPS}/no-such-page"),
               client.get(f"{HTTPS}/api/v1/organizations", headers=bearer(world)),
               client.get(f"{HTTPS}/api/v1/incidents")]
    assert [a.status_code for a in answers] == [200, 404, 200, 401]
    for answer in answers:
        assert answer.headers["Strict-Transport-Security"] == \
            "max-age=31536000; includeSubDomains"
        assert_common_headers(answer)


def test_production_login_over_https_sets_secure_http_only_lax_cookies(production, world):
    client = production.test_client()
    token = csrf_token(client, f"{HTTPS}/login")
    response = client.post(f"{HTTPS}/login", headers={"Referer": f"{HTTPS}/login"}, data={
        "email": world.emails["desk"], "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    cookie = client.get_cookie("session", domain="desk.example.jp")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert client.get(f"{HTTPS}/desk/").status_code == 200
    config = production.config
    assert (config["REMEMBER_COOKIE_SECURE"], config["REMEMBER_COOKIE_HTTPONLY"],
            config["REMEMBER_COOKIE_SAMESITE"]) == (True, True, "Lax")


def test_production_sets_the_language_cookie_secure_http_only_lax(production):
    client = production.test_client()
    assert client.get(f"{HTTPS}/lang/en?next=/report").status_code == 302
    cookie = client.get_cookie("lang", domain="desk.example.jp")
    assert cookie.value == "en"
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert '<html lang="en">' in client.get(f"{HTTPS}/report").text


def test_over_plain_http_the_language_cookie_is_http_only_lax_but_not_secure(client):
    client.get("/lang/en")
    cookie = client.get_cookie("lang")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


@pytest.mark.parametrize(("config_class", "settings"), [
    (ProductionConfig, {"SECRET_KEY": DEV_SECRET_KEY}),
    (ProductionConfig, {"SECRET_KEY": "short"}),
    (ProductionConfig, {"SECRET_KEY": ""}),
    (Config, {"SECRET_KEY": DEV_SECRET_KEY, "SESSION_COOKIE_SECURE": True}),
])
def test_production_refuses_to_start_with_the_development_or_a_short_secret_key(
        app, config_class, settings):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        with another_app(app, config_class, **settings):
            pass


def test_development_starts_with_the_development_key_and_plain_cookies(app):
    with another_app(app, Config, SECRET_KEY=DEV_SECRET_KEY,
                     SESSION_COOKIE_SECURE=False) as application:
        assert application.config["SESSION_COOKIE_SECURE"] is False


def test_kaketsuke_env_production_selects_the_production_settings(monkeypatch):
    monkeypatch.setenv("KAKETSUKE_ENV", "production")
    assert config_for_environment() is ProductionConfig
    monkeypatch.setenv("KAKETSUKE_ENV", "development")
    assert config_for_environment() is Config
    monkeypatch.delenv("KAKETSUKE_ENV")
    assert config_for_environment() is Config
