"""Who did something: the label written into the timeline, and role checks."""

from app.errors import Forbidden


def label_for(user, fallback):
    """A user's e-mail, or a fixed label such as 'web form' for anonymous intake."""
    return user.email if user is not None else fallback


def require_role(user, roles, action):
    """Refuse with 403 unless the user has one of `roles`."""
    if user is None or user.role not in roles:
        raise Forbidden(f"Your role may not {action}.")
