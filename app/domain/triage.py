"""Remote-triage checklists per incident category (IPA: isolate, do not power off, keep logs)."""

from flask_babel import lazy_gettext as _l

COMMON = [
    ("confirm_contact", _l("Confirmed the caller's name, organization and a call-back number")),
    ("scope", _l("Asked which devices, accounts and sites are affected")),
]
CONTAIN = [
    ("isolate", _l("Told the customer to disconnect affected devices from the network "
                   "(unplug the LAN cable, turn Wi-Fi off)")),
    ("no_power_off", _l("Told the customer not to power off or restart affected devices")),
    ("keep_logs", _l("Asked the customer to keep logs, screens and messages as they are")),
]
CHECKLISTS = {
    "malware": COMMON + CONTAIN + [
        ("av_alert", _l("Noted the antivirus or EDR alert name")),
    ],
    "ransomware": COMMON + CONTAIN + [
        ("ransom_note", _l("Asked for a photo of the ransom note; told the customer not to pay "
                           "or contact the attacker")),
        ("backups", _l("Asked whether backups exist and told the customer to disconnect them")),
    ],
    "unauthorized_access": COMMON + CONTAIN + [
        ("passwords", _l("Advised changing passwords of affected accounts from a clean device")),
    ],
    "vulnerability_exploit": COMMON + CONTAIN + [
        ("product_version", _l("Noted the affected product and version")),
    ],
    "phishing_bec": COMMON + [
        ("no_transfer", _l("Told the customer to stop any requested money transfer")),
        ("keep_mail", _l("Asked the customer to keep the suspicious e-mail (do not delete)")),
        ("passwords", _l("Advised changing passwords of affected accounts from a clean device")),
    ],
    "support_scam": COMMON + [
        ("disconnect_remote", _l("Told the customer to disconnect the network and end any "
                                 "remote-control session")),
        ("no_payment", _l("Told the customer not to pay or give card details")),
    ],
    "web_defacement": COMMON + [
        ("hosting", _l("Noted the hosting provider and who manages the site")),
        ("screenshot", _l("Asked for screenshots of the defaced pages")),
    ],
    "dos": COMMON + [
        ("provider", _l("Noted the internet and hosting providers to contact")),
    ],
    "data_leak": COMMON + [
        ("what_leaked", _l("Noted what personal or business data may have leaked and how "
                           "many people")),
        ("ppc_deadline", _l("Told the customer about the legal report deadlines "
                            "(preliminary 3-5 days, final 30 days)")),
    ],
    "suspicious_traffic": COMMON + [
        ("alert_source", _l("Noted the alerting device and the destination address")),
    ],
    "insider": COMMON + [
        ("keep_logs", _l("Asked the customer to keep logs, screens and messages as they are")),
    ],
    "other": COMMON,
}


def checklist_for(category):
    """The (key, label) items of the category's checklist."""
    return CHECKLISTS.get(category, COMMON)


# Every item of every checklist by key: a tick stays on the timeline after a corrected
# category took its item off the checklist, and is still shown in words.
ITEM_LABELS = {key: label for items in CHECKLISTS.values() for key, label in items}


def item_label(key):
    """The words of a checklist item of any category (the key when unknown)."""
    return ITEM_LABELS.get(key, key)
