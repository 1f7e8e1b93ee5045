"""claim.pdf: the claim document (claim.json) laid out in Japanese for a claims handler.

Built with reportlab Platypus and the bundled IPAexGothic font, embedded so every viewer shows
the same glyphs. Every text from the database is escaped for reportlab's mini-HTML.
The document is a fixed-language Japanese form, so its headings are kept here as data.
"""

import io
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import force_locale
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.domain.labels import CATEGORY_LABELS, SEVERITY_LABELS, SOURCE_LABELS, STATE_LABELS
from app.domain.timeline import actor
from app.domain.timeutil import JST

FONT = "IPAexGothic"
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "ipaexg.ttf"
KINDS = {"receipt": "領収書", "photo": "写真", "log": "ログ", "work_report": "作業報告書",
         "other": "その他"}
VISITS = {"offered": "依頼中", "accepted": "受諾", "declined": "辞退", "expired": "期限切れ",
          "en_route": "移動中", "on_site": "現地対応中", "completed": "完了", "cancelled": "取消"}
HEAD = {"title": "サイバー保険 保険金請求書", "policy": "1. 保険契約", "insured": "2. 被保険者",
        "incident": "3. 事故の概要", "timeline": "4. 対応経過", "dispatch": "5. 駆付け記録",
        "costs": "6. 費用明細（費目別）", "computation": "7. 支払額の計算",
        "evidence": "8. 証拠一覧（SHA-256）"}
SIGNATURE_HEAD = "9. 電子署名"
GRID = TableStyle([("FONT", (0, 0), (-1, -1), FONT, 8),
                   ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                   ("VALIGN", (0, 0), (-1, -1), "TOP")])


def register_font():
    """Register the bundled font with reportlab once per process."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))


def _styles():
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=12, wordWrap="CJK")
    return {"body": base,
            "title": ParagraphStyle("title", base, fontSize=16, leading=22, spaceAfter=4),
            "h": ParagraphStyle("h", base, fontSize=11.5, leading=16, spaceBefore=10,
                                spaceAfter=4),
            "cell": ParagraphStyle("cell", base, fontSize=8, leading=10),
            "num": ParagraphStyle("num", base, fontSize=8, leading=10, alignment=TA_RIGHT),
            "hash": ParagraphStyle("hash", base, fontSize=6.5, leading=8)}


def _text(value):
    """Database text escaped for reportlab's mini-HTML, line breaks kept."""
    return escape(str(value if value is not None else "")).replace("\n", "<br/>")


def yen(amount):
    """An integer yen amount as shown in the document: 12,345円."""
    return f"{amount:,}円"


def jst_text(iso):
    """An ISO UTC time (with Z) as Japan time text, or a dash."""
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def render_pdf(document, key_fingerprint):
    """The PDF bytes for a claim document (the dict written as claim.json), ending with the
    fingerprint of the key that signs its packet."""
    register_font()
    s = _styles()
    with force_locale("ja"):
        story = _story(document, s)
    story.extend(_signing_key(key_fingerprint, s))
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=f"保険金請求 {document['incident']['reference']}",
                            author="Kaketsuke", invariant=1)
    pdf.build(story)
    return buffer.getvalue()


def _story(doc, s):
    packet, incident = doc["packet"], doc["incident"]
    story = [Paragraph(HEAD["title"], s["title"]),
             Paragraph(_text(f"事故番号 {incident['reference']} ・ 請求ID {packet['claim_id']} ・ "
                             f"第{packet['version']}版 ・ 作成 {jst_text(packet['created_at'])}"
                             f"（{packet['created_by']}）"), s["body"])]
    for key, part in (("policy", _policy), ("insured", _insured), ("incident", _incident),
                      ("timeline", _timeline), ("dispatch", _dispatches), ("costs", _costs),
                      ("computation", _computation), ("evidence", _evidence)):
        story.append(Paragraph(HEAD[key], s["h"]))
        story.extend(part(doc, s))
    return story


def _signing_key(key_fingerprint, s):
    """Where the reader checks the packet's origin: the signing key's fingerprint."""
    return [Paragraph(SIGNATURE_HEAD, s["h"]),
            Paragraph(_text("この請求書を含む請求パッケージ（ZIP）は、次の指紋の Ed25519 鍵で"
                            "署名されています。保険会社ポータルに表示される指紋と一致することを"
                            "確認してください。"), s["body"]),
            Paragraph(_text("署名鍵の指紋（公開鍵32バイトの SHA-256、16進数4桁区切り）:"),
                      s["body"]),
            Paragraph(_text(key_fingerprint), s["body"])]  # a line of its own: never wrapped


def _table(rows, s, widths, numeric=()):
    """A grid table; every cell a wrapped paragraph, numeric columns right-aligned."""
    cells = [[Paragraph(_text(v), s["num"] if i in numeric and r else s["cell"])
              for i, v in enumerate(row)] for r, row in enumerate(rows)]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(GRID)
    return [table]


def _pairs(pairs, s):
    return _table([("項目", "内容"), *pairs], s, (45, 135))


def _policy(doc, s):
    p = doc["policy"]
    rows = _pairs([("保険会社", p["insurer"]["name"]), ("証券番号", p["number"]),
                   ("保険期間", f"{p['starts_on']} 〜 {p['ends_on']}"),
                   ("1事故あたり支払限度額", yen(p["per_incident_limit"])),
                   ("年間総支払限度額", yen(p["annual_aggregate"])),
                   ("免責金額", yen(p["deductible"]))], s)
    heads = [("費目", "支払割合", "費目別限度額")] + [
        (c["name_ja"], f"{c['payout_ratio']}%", yen(c["sub_limit"])) for c in p["coverages"]]
    return rows + [Spacer(1, 3 * mm)] + _table(heads, s, (80, 40, 60), numeric=(1, 2))


def _insured(doc, s):
    o = doc["insured"]
    return _pairs([("名称", o["name"]), ("顧客コード", o["code"]), ("所在地", o["address"]),
                   ("業種", o["industry"]), ("従業員数", f"{o['employees']}名")], s)


def _incident(doc, s):
    i = doc["incident"]
    return _pairs([("事故番号", i["reference"]),
                   ("種別", str(CATEGORY_LABELS.get(i["category"], i["category"]))),
                   ("重要度", str(SEVERITY_LABELS.get(i["severity"], i["severity"]))),
                   ("発見日時", jst_text(i["discovered_at"])),
                   ("発見の経緯", str(SOURCE_LABELS.get(i["discovery_source"],
                                                     i["discovery_source"]))),
                   ("状態", str(STATE_LABELS.get(i["state"], i["state"]))),
                   ("概要", i["summary"]), ("詳細", i["description"])], s)


def _timeline(doc, s):
    rows = [("日時", "内容", "担当", "メモ")]
    for e in doc["timeline"]:
        what = e["text"] + "".join(f"\n{d['label']}: {d['text']}" for d in e["details"])
        rows.append((jst_text(e["at"]), what, actor(e["actor"]), e["note"]))
    return _table(rows, s, (32, 62, 36, 50))


def _dispatches(doc, s):
    if not doc["dispatches"]:
        return [Paragraph("駆付けはありません。", s["body"])]
    parts = []
    for d in doc["dispatches"]:
        parts += _pairs([("技術者", f"{d['technician']['name']}（{d['technician']['company']}）"),
                         ("状態", VISITS.get(d["state"], d["state"])),
                         ("依頼", jst_text(d["offered_at"])),
                         ("受諾", jst_text(d["responded_at"])),
                         ("出発", jst_text(d["departed_at"])),
                         ("到着", jst_text(d["arrived_at"])),
                         ("完了", jst_text(d["completed_at"])),
                         ("作業報告", d["work_report"]), ("確認者（署名）", d["signoff_name"])], s)
        parts.append(Spacer(1, 3 * mm))
    return parts


def _costs(doc, s):
    rows = [("費目", "日付", "内容", "数量", "単価", "金額（税抜）", "税率", "証拠")]
    for group in doc["costs_by_head"]:
        for line in group["lines"]:
            rows.append((group["name_ja"], line["incurred_on"], line["description"],
                         line["quantity"], yen(line["unit_price"]), yen(line["amount"]),
                         f"{line['tax_rate']}%",
                         ", ".join(f"#{i}" for i in line["evidence_ids"])))
        rows.append((group["name_ja"], "", "小計", "", "", yen(group["amount_excl_tax"]), "", ""))
    return _table(rows, s, (22, 21, 47, 12, 20, 24, 11, 23), numeric=(3, 4, 5, 6))


def _computation(doc, s):
    c = doc["computation"]
    names = {g["head"]: g["name_ja"] for g in doc["costs_by_head"]}
    names.update({cv["head"]: cv["name_ja"] for cv in doc["policy"]["coverages"]})
    heads = [("費目", "請求額（税込）", "支払割合", "割合適用後", "費目別限度額", "認定額")] + [
        (names.get(h["head"], h["head"]), yen(h["claimed"]), f"{h['payout_ratio']}%",
         yen(h["after_ratio"]), yen(h["sub_limit"]), yen(h["covered"])) for h in c["heads"]]
    taxes = "、".join(f"{t['rate']}%対象 {yen(t['base'])} 消費税 {yen(t['tax'])}"
                     for t in c["taxes"]) or "—"
    deductible = f"{yen(c['after_deductible'])}（免責 {yen(c['deductible'])}）"
    remaining = f"{yen(c['remaining_aggregate'])}（既払 {yen(c['prior_paid'])}）"
    totals = _pairs([("小計（税抜）", yen(c["subtotal"])), ("消費税（税率ごと・切捨て）", taxes),
                     ("請求額合計（税込）", yen(c["claimed_total"])),
                     ("認定額合計", yen(c["covered_total"])), ("免責金額控除後", deductible),
                     ("1事故限度額適用後", yen(c["after_limit"])),
                     ("年間限度額の残額", remaining),
                     ("支払額", yen(c["payable"])), ("自己負担額", yen(c["customer_share"]))], s)
    return (_table(heads, s, (40, 30, 18, 30, 30, 32), numeric=(1, 2, 3, 4, 5))
            + [Spacer(1, 3 * mm)] + totals)


def _evidence(doc, s):
    if not doc["evidence"]:
        return [Paragraph("証拠はありません。", s["body"])]
    parts = []
    for e in doc["evidence"]:
        label = (f"#{e['id']} {KINDS.get(e['kind'], e['kind'])} {e['original_name']} "
                 f"（{e['size']:,}バイト、{e['content_type']}）")
        parts.append(Paragraph(_text(label), s["cell"]))
        parts.append(Paragraph(_text(f"SHA-256: {e['sha256']}"), s["hash"]))
    return parts
