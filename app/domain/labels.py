"""Display labels (translated) for the codes of the public API."""

from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "received": _l("Received"),
    "triaging": _l("Remote triage"),
    "resolved_remotely": _l("Resolved remotely"),
    "dispatch_requested": _l("Dispatch requested"),
    "technician_assigned": _l("Technician assigned"),
    "en_route": _l("Technician en route"),
    "on_site": _l("Technician on site"),
    "onsite_completed": _l("On-site work completed"),
    "claim_preparing": _l("Preparing insurance claim"),
    "claim_submitted": _l("Claim submitted"),
    "claim_info_requested": _l("Insurer requested information"),
    "claim_approved": _l("Claim approved"),
    "claim_denied": _l("Claim denied"),
    "claim_paid": _l("Claim paid"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}

TRIGGER_LABELS = {
    "start_triage": _l("Start triage"),
    "resolve_remotely": _l("Resolved remotely"),
    "request_dispatch": _l("Request on-site dispatch"),
    "assign_technician": _l("Assign technician"),
    "release_technician": _l("Release technician"),
    "depart": _l("Departed"),
    "arrive": _l("Arrived on site"),
    "complete_onsite": _l("Complete on-site work"),
    "prepare_claim": _l("Prepare insurance claim"),
    "submit_claim": _l("Submit claim"),
    "request_info": _l("Request information"),
    "approve_claim": _l("Approve claim"),
    "deny_claim": _l("Deny claim"),
    "record_payment": _l("Record payment"),
    "close": _l("Close"),
    "cancel": _l("Cancel"),
}

CATEGORY_LABELS = {
    "malware": _l("Malware infection"),
    "ransomware": _l("Ransomware"),
    "unauthorized_access": _l("Unauthorized access / login"),
    "vulnerability_exploit": _l("Vulnerability exploitation"),
    "phishing_bec": _l("Phishing / business e-mail compromise"),
    "support_scam": _l("Tech-support scam"),
    "web_defacement": _l("Website defacement"),
    "dos": _l("DoS attack"),
    "data_leak": _l("Data leak (incl. mis-sent mail, lost devices)"),
    "suspicious_traffic": _l("Suspicious traffic (unconfirmed alert)"),
    "insider": _l("Insider misconduct"),
    "other": _l("Other"),
}

SEVERITY_LABELS = {
    "critical": _l("Critical"),
    "high": _l("High"),
    "medium": _l("Medium"),
    "low": _l("Low"),
}

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "web": _l("Web form"),
    "email": _l("E-mail"),
    "monitoring": _l("Monitoring alert"),
}

SOURCE_LABELS = {
    "alert": _l("Monitoring alert"),
    "user": _l("Noticed by the customer"),
    "external_notice": _l("External notice (police, partner, etc.)"),
}

# What an insurer was told (InsurerNotice.kind before its ":" suffix).
NOTICE_LABELS = {
    "early_notice": _l("Early notice"),
    "claim_submitted": _l("Claim submitted"),
    "claim_acknowledged": _l("Claim receipt acknowledged"),
    "claim_info_requested": _l("Information requested"),
    "claim_approved": _l("Claim approved"),
    "claim_denied": _l("Claim denied"),
    "claim_paid": _l("Claim paid"),
}

ROLE_LABELS = {
    "customer": _l("Customer"),
    "desk": _l("Desk operator"),
    "dispatcher": _l("Dispatcher"),
    "technician": _l("Technician"),
    "insurer": _l("Insurer"),
    "admin": _l("Administrator"),
}

PREFECTURES = [
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
]


def prefecture_name(code):
    """The prefecture's name for its JIS code (1-47)."""
    return PREFECTURES[code - 1] if 1 <= code <= len(PREFECTURES) else str(code)
