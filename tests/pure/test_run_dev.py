"""`make run` starts the mailbox poller beside the web server and worker when IMAP_URL is set."""

from scripts.run_dev import _parse, commands


def test_the_poller_runs_only_with_a_mailbox():
    args = _parse(["--port", "5001"])
    assert set(commands(args, {})) == {"worker", "web server"}
    with_mail = commands(args, {"IMAP_URL": "imaps://desk:pw@mail.example.jp/INBOX"})
    assert with_mail["mail poller"][-3:] == ["flask", "mail", "poll"]
    assert "5001" in with_mail["web server"]
