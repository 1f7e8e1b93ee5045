"""Who did something: the label written into the timeline, and role checks."""

from dataclasses import dataclass

from app.errors import Forbidden


@dataclass
class ActingTechnician:
    """A technician acting without a login: through their signed SMS link or by keypress."""

    technician_id: int
    email: str  # the label written into the timeline, e.g. "佐藤 健 (SMS link)"
    role: str = "technician"
    id: None = None  # no User row


def label_for(user, fallback):
    """A user's e-mail, or a fixed label such as 'web form' for anonymous intake."""
    return user.email if user is not None else fallback


def require_role(user, roles, action):
    """Refuse with 403 unless the user has one of `roles`."""
    if user is None or user.role not in roles:
        raise Forbidden(f"Your role may not {action}.")
