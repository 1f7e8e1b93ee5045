"""`make run` starts the worker, the syslog receiver and the web server, and the mailbox
poller beside them when IMAP_URL is set."""

from scripts.run_dev import _parse, commands


def test_the_poller_runs_only_with_a_mailbox():
    args = _parse(["--port", "5001", "--syslog-port", "5515"])
    assert set(commands(args, {})) == {"worker", "syslog receiver", "web server"}
    with_mail = commands(args, {"IMAP_URL": "imaps://desk:pw@mail.example.jp/INBOX"})
    assert with_mail["mail poller"][-3:] == ["flask", "mail", "poll"]
    assert "5001" in with_mail["web server"]
    assert with_mail["syslog receiver"][-4:] == ["--tcp", "5515", "--udp", "5515"]
