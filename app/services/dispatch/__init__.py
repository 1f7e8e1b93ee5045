"""On-site dispatch: choosing technicians, offers and their escalation timers, the
visit, technicians and their shifts, one-tap links, the voice call's answers (voice.py), and
what became of sent messages."""
