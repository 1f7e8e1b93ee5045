"""Development: serve the web app and run the notification worker beside it (`make run`).

Both are children of this script. Ctrl-C or SIGTERM stops both cleanly; when either
stops by itself, the other is stopped too, and the exit code says what happened.
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


def main(argv=None):
    """Start `flask worker` and `flask run`; return when either ends or on Ctrl-C/SIGTERM."""
    args = _parse(argv)
    env = {**os.environ, "FLASK_APP": os.environ.get("FLASK_APP", "wsgi")}
    flask = [sys.executable, "-m", "flask"]
    signal.signal(signal.SIGTERM, _on_sigterm)
    worker = subprocess.Popen([*flask, "worker"], env=env)
    web = subprocess.Popen([*flask, "run", "--host", args.host, "--port", str(args.port)],
                           env=env)
    code = 0
    try:
        while worker.poll() is None and web.poll() is None:
            time.sleep(0.2)
        ended = "worker" if worker.poll() is not None else "web server"
        code = (worker.poll() if ended == "worker" else web.poll()) or 1
        print(f"run_dev: the {ended} stopped; stopping the other.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # make passes its SIGTERM on, too
            signal.signal(sig, signal.SIG_IGN)
        _stop([web, worker])
    return code


if __name__ == "__main__":
    sys.exit(main())
