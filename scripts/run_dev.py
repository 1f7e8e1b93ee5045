"""Development: serve the web app, with the notification worker and the syslog receiver
beside it (`make run`), and the mailbox poller (`flask mail poll`) too when IMAP_URL is set.

All are children of this script. Ctrl-C or SIGTERM stops them all cleanly; when one
stops by itself, the others are stopped too, and the exit code says what happened.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

STOP_GRACE_SECONDS = 10  # the worker finishes the message in hand first


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default=os.environ.get("PORT", "5000"))
    parser.add_argument("--syslog-port", default=os.environ.get("SYSLOG_PORT", "5514"),
                        help="TCP and UDP port of the syslog receiver on 127.0.0.1")
    return parser.parse_args(argv)


def _stop(children):
    """SIGTERM every child still running, then wait (kill one that will not go)."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _on_sigterm(_signum, _frame):
    raise KeyboardInterrupt  # one way out, the same as Ctrl-C


def _banner(syslog_port):
    """How to send the receiver a line from this machine (the demo binds 127.0.0.1)."""
    print(f"Syslog: 127.0.0.1:{syslog_port} tcp/udp. Try: logger --server 127.0.0.1 "
          f"--port {syslog_port} --tcp --octet-count 'CEF:0|Fortinet|FortiGate|7.2|16384|"
          "IPS test|8|rt=Dec 06 2026 10:00:00 JST dvchost=fgt-demo src=203.0.113.9'",
          file=sys.stderr)


def commands(args, environ):
    """{name: argv} of the children: the worker, the syslog receiver, the web server, and
    the mailbox poller when IMAP_URL is set."""
    flask = [sys.executable, "-m", "flask"]
    children = {"worker": [*flask, "worker"],
                "syslog receiver": [*flask, "alerts", "syslog", "--bind", "127.0.0.1",
                                    "--tcp", str(args.syslog_port),
                                    "--udp", str(args.syslog_port)],
                "web server": [*flask, "run", "--host", args.host, "--port", str(args.port)]}
    if environ.get("IMAP_URL"):
        children["mail poller"] = [*flask, "mail", "poll"]
    return children


def main(argv=None):
    """Start the children; return when one ends or on Ctrl-C/SIGTERM."""
    args = _parse(argv)
    env = {**os.environ, "FLASK_APP": os.environ.get("FLASK_APP", "wsgi")}
    signal.signal(signal.SIGTERM, _on_sigterm)
    children = {name: subprocess.Popen(argv_, env=env)
                for name, argv_ in commands(args, env).items()}
    _banner(args.syslog_port)
    code = 0
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.2)
        ended = next(name for name, child in children.items() if child.poll() is not None)
        code = children[ended].poll() or 1
        print(f"run_dev: the {ended} stopped; stopping the others.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # make passes its SIGTERM on, too
            signal.signal(sig, signal.SIG_IGN)
        _stop(list(children.values()))
    return code


if __name__ == "__main__":
    sys.exit(main())
