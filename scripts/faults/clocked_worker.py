"""`flask worker`, but with a clock that runs FAULTS_CLOCK_SPEED times as fast as real time.

The worker's waits are times on its clock: the 60 s lease of a claimed batch, the backoff
of 5 s, 10 s, 20 s ... between tries. The reduced worker-kill test (tests/system/faults/) runs its
worker processes through this module so that a killed worker's rows come back, and a
failing message's tries pass, in seconds: the same code runs, only the clock is faster.
The clock reads FAULTS_CLOCK_EPOCH (naive UTC, ISO 8601) as its start:

    now = epoch + (real now - epoch) * speed

so every process given the same epoch and speed agrees on the time.

    FAULTS_CLOCK_SPEED=20 FAULTS_CLOCK_EPOCH=2026-11-25T01:00:00 \\
        .venv/bin/python -m scripts.faults.clocked_worker
"""

import os
from datetime import datetime

from app.domain.timeutil import utcnow


class FastClock:
    """Naive UTC time running `speed` times as fast as the wall clock since `epoch`."""

    def __init__(self, epoch, speed):
        self.epoch, self.speed = epoch, speed

    @classmethod
    def from_environment(cls, environ=os.environ):
        return cls(datetime.fromisoformat(environ["FAULTS_CLOCK_EPOCH"]),
                   float(environ["FAULTS_CLOCK_SPEED"]))

    def environment(self):
        """The variables that give a worker process this clock."""
        return {"FAULTS_CLOCK_EPOCH": self.epoch.isoformat(),
                "FAULTS_CLOCK_SPEED": str(self.speed)}

    def __call__(self):
        return self.epoch + (utcnow() - self.epoch) * self.speed


def main():
    """Run the worker loop (as `flask worker` does) on the fast clock until SIGTERM."""
    from app import create_app
    from notifications.worker import run

    app = create_app()
    with app.app_context():
        run(now=FastClock.from_environment())


if __name__ == "__main__":
    main()
