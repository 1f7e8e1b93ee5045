"""The worker-kill fault run, reduced: real `flask worker` processes are SIGKILLed while
the fake Twilio fails; no message is lost, every duplicate was in flight at a kill.

The full run (10,000 messages, real time) is scripts/faults/worker_kill.py; this one
sends 120 with the workers' clock 30 times as fast (scripts/faults/clocked_worker.py), so
the 60 s lease of a killed worker's batch and the backoff between tries pass in seconds.
The deadline only guards against a hang; most of the run's time goes into starting the
three worker processes (docs/reliability.md has the measured times).
"""

import pytest

from scripts.faults.worker_kill import Settings, run_experiment

MESSAGES = 120
KILLS = 2


@pytest.mark.postgres
def test_killed_workers_and_a_failing_provider_lose_no_message(app, dialect, tmp_path):
    if dialect != "postgresql":
        pytest.skip("several worker processes share the outbox through PostgreSQL row locks")
    # Three workers, two of them killed and not restarted (starting a process is the slow
    # part): the last one takes over the rows the others held once their lease has passed.
    settings = Settings(messages=MESSAGES, workers=3, kill_every=0.5, max_kills=KILLS,
                        restart=False, clock_speed=30, client_timeout=0.3, hang_seconds=0.6,
                        deadline=90)
    report = run_experiment(app, settings, tmp_path, out=lambda *_: None)
    print("\n".join(report.lines()))
    assert report.problems() == [], report.lines()
    assert sum(report.statuses.values()) == MESSAGES
    assert set(report.statuses) <= {"sent", "failed"}
    # The faults really happened: provider errors, timeouts, and kills of busy workers
    # whose claimed rows other workers sent once the lease had passed.
    assert report.requests[500] and report.requests[0], report.requests
    assert report.kills == KILLS
    assert report.claims_without_call > 0
    assert len(report.duplicates_in_flight) <= KILLS
