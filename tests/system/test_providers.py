"""Providers: choosing them from config, the real Twilio client against the fake, SMTP."""

import pytest

from notifications.providers import DeliveryError, ProviderConfigError, get_provider
from notifications.providers.console import ConsoleProvider
from notifications.providers.smtp import SmtpProvider
from notifications.providers.twilio import RedirectingHttpClient, TwilioProvider

STATUS_URL = "http://kaketsuke.test/webhooks/twilio/status/sms"


def test_the_console_carries_everything_by_default_and_smtp_takes_email_when_set(app):
    providers = get_provider({"NOTIFY_PROVIDER": "console", "SMTP_HOST": ""})
    assert isinstance(providers.for_channel("sms"), ConsoleProvider)
    assert isinstance(providers.for_channel("email"), ConsoleProvider)
    assert providers.for_channel("voice").place_call("+8190", "u", "s", reference="7") == \
        "console-7"
    with_smtp = get_provider({"NOTIFY_PROVIDER": "console", "SMTP_HOST": "mail.example"})
    assert isinstance(with_smtp.for_channel("email"), SmtpProvider)
    assert isinstance(with_smtp.for_channel("sms"), ConsoleProvider)


def test_incomplete_or_unknown_provider_settings_are_refused_with_the_missing_name():
    twilio_without_smtp = {"NOTIFY_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1",
                           "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+815012345678"}
    for settings, complaint in [
            ({"NOTIFY_PROVIDER": "twilio", "SMTP_HOST": "mail.example"}, "TWILIO_ACCOUNT_SID"),
            (twilio_without_smtp, "SMTP_HOST"),
            ({"NOTIFY_PROVIDER": "pigeon"}, "Unknown NOTIFY_PROVIDER")]:
        with pytest.raises(ProviderConfigError, match=complaint):
            get_provider(settings)


def test_the_http_client_sends_twilio_hosts_to_the_base_url_and_leaves_others():
    for url, expected in [
            ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
             "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json"),
            ("https://api.sydney.au1.twilio.com/2010-04-01/Calls.json?x=1",
             "http://127.0.0.1:9/2010-04-01/Calls.json?x=1"),
            ("https://example.com/2010-04-01/Calls.json",
             "https://example.com/2010-04-01/Calls.json")]:
        assert RedirectingHttpClient(1.0, "http://127.0.0.1:9/").rewrite(url) == expected
        assert RedirectingHttpClient(1.0).rewrite(url) == url
    assert RedirectingHttpClient(2.5).timeout == 2.5


def twilio(app):
    return TwilioProvider(app.config)


def test_an_sms_is_a_real_messages_request_with_basic_auth_and_a_status_callback(
        app, fake_twilio):
    sid = twilio(app).send_sms("+819012345678", "本文 https://x/a/t", STATUS_URL)
    (request,) = fake_twilio.requests
    assert sid.startswith("SM") and len(sid) == 34 and request.sid == sid
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.form == {"To": "+819012345678", "From": "+815012345678",
                            "Body": "本文 https://x/a/t", "StatusCallback": STATUS_URL}
    assert request.authorization.startswith("Basic ")


def test_a_call_fetches_its_twiml_by_post_and_reports_progress(app, fake_twilio):
    sid = twilio(app).place_call("+819012345678", "http://kaketsuke.test/webhooks/twilio/"
                                 "voice/offer/3", "http://kaketsuke.test/status/voice")
    (request,) = fake_twilio.calls
    assert sid.startswith("CA") and request.path.endswith("/Calls.json")
    assert request.form["Url"] == "http://kaketsuke.test/webhooks/twilio/voice/offer/3"
    assert (request.form["Method"], request.form["StatusCallbackMethod"]) == ("POST", "POST")
    assert request.form_lists["StatusCallbackEvent"] == ["answered", "completed"]


def test_twilio_errors_are_permanent_for_4xx_and_transient_for_5xx_and_timeouts(
        app, fake_twilio):
    for fault, permanent, text in [
            (lambda: fake_twilio.fail_next(1, 500), False, "Twilio HTTP 500 code 20500"),
            (lambda: fake_twilio.fail_next(1, 429, 20429, "Too Many Requests"), False,
             "HTTP 429"),
            (lambda: fake_twilio.hang_next(1, seconds=1.0), False,
             "Twilio unreachable: ReadTimeout"),
            (lambda: fake_twilio.reject_next(1), True, "Twilio HTTP 400 code 21211")]:
        fault()
        with pytest.raises(DeliveryError, match=text) as caught:
            twilio(app).send_sms("+819012345678", "x", STATUS_URL)
        assert caught.value.permanent is permanent


def test_wrong_credentials_are_a_permanent_error(app, fake_twilio, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "wrong")
    with pytest.raises(DeliveryError, match="HTTP 401") as caught:
        twilio(app).send_sms("+819012345678", "x", STATUS_URL)
    assert caught.value.permanent


def test_an_email_is_a_real_smtp_conversation_with_login_and_japanese_text(app, smtp):
    provider = SmtpProvider(app.config)
    message_id = provider.send_email("boss@sme.example.jp", "【要対応】INC-2026-000001",
                                     "本文です。\n.先頭のドット", reference="42")
    (received,) = smtp.received
    assert (received.mail_from, received.rcpt_tos, received.login) == (
        "kaketsuke@otasuketai.example", ["boss@sme.example.jp"], "mailer")
    message = received.message
    assert message["Subject"] == "【要対応】INC-2026-000001"
    assert message["Message-ID"] == message_id and message_id.startswith("<42.")
    assert message.get_content() == "本文です。\n.先頭のドット\n"


def test_smtp_refusals_are_transient_for_4xx_and_permanent_for_5xx(app, smtp):
    for reply, permanent in [("451 4.3.0 Try again later", False),
                             ("550 5.1.1 No such user", True)]:
        smtp.refuse_next(1, reply)
        with pytest.raises(DeliveryError, match=reply[:3]) as caught:
            SmtpProvider(app.config).send_email("x@sme.example.jp", "s", "b", reference="1")
        assert caught.value.permanent is permanent
    assert smtp.received == []


def test_a_wrong_smtp_password_is_permanent_and_an_unreachable_server_transient(
        app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
    with pytest.raises(DeliveryError, match="535") as caught:
        SmtpProvider(app.config).send_email("x@sme.example.jp", "s", "b")
    assert caught.value.permanent
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens there
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        SmtpProvider(app.config).send_email("x@sme.example.jp", "s", "b")
    assert not caught.value.permanent
