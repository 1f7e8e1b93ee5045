"""Who did something: the label written into the timeline (who may do what: app/access.py)."""

from dataclasses import dataclass


@dataclass
class ActingTechnician:
    """A technician acting without a login: through their signed SMS link or by keypress."""

    technician_id: int
    email: str  # the label written into the timeline, e.g. "佐藤 健 (SMS link)"
    role: str = "technician"
    id: None = None  # no User row


@dataclass(frozen=True)
class CommandLineOperator:
    """Whoever runs `flask` on the server holds the database credentials: an administrator."""

    role: str = "admin"
    email: str = "command line"
    id: None = None  # no User row


def label_for(user, fallback):
    """A user's e-mail, or a fixed label such as 'web form' for anonymous intake."""
    return user.email if user is not None else fallback
