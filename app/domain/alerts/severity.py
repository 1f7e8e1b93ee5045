"""The severity tables: how each format's scale becomes critical/high/medium/low.

docs/alerts.md repeats these tables; a contract may override the Wazuh one per level
(Contract.alert_policy["wazuh_levels"], applied by the ingest service).
"""

import re

from app.domain.alerts.normalized import AlertFormatError

# CEF 0-10: 0-3 low, 4-6 medium, 7-8 high, 9-10 critical.
CEF_NUMBERS = {**dict.fromkeys(range(0, 4), "low"), **dict.fromkeys(range(4, 7), "medium"),
               **dict.fromkeys(range(7, 9), "high"), **dict.fromkeys(range(9, 11), "critical")}
# The words of the CEF specification, then those vendors put in the field (lower case,
# "_" and " " read as "-"). "Unknown" is low: the policy, not the parser, decides on it.
CEF_WORDS = {
    "unknown": "low", "low": "low", "medium": "medium", "high": "high",
    "very-high": "critical",
    "very-low": "low", "informational": "low", "information": "low", "info": "low",
    "notice": "low", "debug": "low", "minor": "low",
    "warning": "medium", "warn": "medium", "moderate": "medium", "error": "medium",
    "err": "medium",
    "major": "high", "alert": "high", "severe": "high",
    "critical": "critical", "crit": "critical", "emergency": "critical", "emerg": "critical",
}
# Wazuh rule.level 0-16: 12-16 critical, 8-11 high, 5-7 medium, 0-4 low.
WAZUH_LEVELS = {**dict.fromkeys(range(0, 5), "low"), **dict.fromkeys(range(5, 8), "medium"),
                **dict.fromkeys(range(8, 12), "high"), **dict.fromkeys(range(12, 17), "critical")}


def cef_severity(value):
    """A CEF Severity field (0-10 or a word of CEF_WORDS) as a severity."""
    text = str(value).strip()
    if re.fullmatch(r"[0-9]{1,2}", text) and int(text) in CEF_NUMBERS:
        return CEF_NUMBERS[int(text)]
    word = re.sub(r"[ _]+", "-", text.lower())
    if word in CEF_WORDS:
        return CEF_WORDS[word]
    raise AlertFormatError(f"CEF severity {text[:20]!r} is not 0-10 or a word of the "
                           "severity table (Unknown, Low, Medium, High, Very-High, ...)")


def wazuh_level(value):
    """Wazuh rule.level as an integer 0-16 (a numeric string is accepted)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in WAZUH_LEVELS:
        raise AlertFormatError(f"rule.level {str(value)[:20]!r} is not an integer 0-16")
    return value


def wazuh_severity(level, overrides=None):
    """The severity of a Wazuh level: the override for it (keys are the level as text),
    else WAZUH_LEVELS."""
    level = wazuh_level(level)
    return (overrides or {}).get(str(level)) or WAZUH_LEVELS[level]
