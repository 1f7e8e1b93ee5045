"""Translations: every UI string has a Japanese translation, and pages follow the chosen language.

Japanese is the default; English is the source language (msgids), so there is no
English catalog. A new UI string without a Japanese translation fails
test_every_ui_string_is_translated with the list of msgids to translate.
"""

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from scripts.compile_translations import CatalogError, compile_all

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "translations"
JA_PO = TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po"
# The same keywords as `pybabel extract -k _l -k lazy_gettext`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# %(name)s, %s, %d, %% ... as Python's %-formatting reads them.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
UPDATE_HINT = (
    "Re-extract and update the catalog, then translate the empty entries:\n"
    "  .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext "
    "--add-comments=TRANSLATORS: --project=Kaketsuke -o translations/messages.pot .\n"
    "  .venv/bin/pybabel update -i translations/messages.pot -d translations -w 100 "
    "--no-fuzzy-matching"
)


@pytest.fixture(scope="module")
def compiled_catalogs(app):
    """Compile the .mo files (git-ignored) so these tests do not depend on make."""
    compile_all()
    # If an earlier test rendered a page before the .mo existed, Flask-Babel cached
    # an empty catalog for that language: forget it (the context is closed before
    # any request is made).
    with app.app_context():
        app.extensions["babel"].instance.domain_instance.cache.clear()


def source_messages():
    """{(msgid, context): [locations]} for every translatable string, read as babel.cfg says."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename="babel.cfg")
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def ja_catalog():
    with JA_PO.open("rb") as handle:
        return read_po(handle, locale="ja")


def is_translated(message):
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return not message.fuzzy and all(s.strip() for s in strings)


def placeholders(text):
    return Counter(PLACEHOLDER.findall(text))


def test_extraction_finds_the_ui_strings():
    """Guards the check below: babel.cfg must reach Python and templates alike."""
    found = {msgid for msgid, _context in source_messages()}
    assert "Report a security incident" in found      # templates/public/report.html
    assert "Ransomware" in found                      # app/domain/labels.py, lazy_gettext as _l
    assert "The e-mail or password is wrong." in found  # app/web/public/views.py, gettext as _


def test_every_ui_string_is_translated():
    catalog = ja_catalog()
    problems = []
    for (msgid, context), where in sorted(source_messages().items(),
                                          key=lambda item: item[1][0]):
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append(f"{msgid!r} (missing; {', '.join(where)})")
        elif not is_translated(message):
            state = "fuzzy" if message.fuzzy else "empty msgstr"
            problems.append(f"{msgid!r} ({state}; {', '.join(where)})")
    assert not problems, (
        f"{len(problems)} UI string(s) lack a Japanese translation in "
        f"{JA_PO.relative_to(ROOT)}:\n  " + "\n  ".join(problems) + "\n" + UPDATE_HINT)


def test_catalog_has_no_fuzzy_or_empty_entries():
    catalog = ja_catalog()
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    bad = [message.id for message in catalog if message.id and not is_translated(message)]
    assert not bad, f"fuzzy or empty entries in {JA_PO.relative_to(ROOT)}: {bad}"


def test_translations_keep_the_placeholders():
    mismatched = []
    for message in ja_catalog():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) \
            else [message.string]
        expected = placeholders(ids[0])
        for string in strings:
            if placeholders(string) != expected:
                mismatched.append(f"{ids[0]!r} -> {string!r}")
    assert not mismatched, "placeholders differ from the msgid:\n  " + "\n  ".join(mismatched)


def test_catalogs_compile(tmp_path):
    """Every catalog compiles (checked on a copy, so a forced build races nobody)."""
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    written = compile_all(copy, force=True)
    assert copy / "ja" / "LC_MESSAGES" / "messages.mo" in written


def test_compile_refuses_a_broken_catalog(tmp_path):
    po = tmp_path / "ja" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  '#, python-format\nmsgid "Recorded as %(reference)s."\n'
                  'msgstr "%(ref)s として記録しました。"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="Recorded as"):
        compile_all(tmp_path)
    assert not po.with_suffix(".mo").exists()


def test_official_category_labels():
    """The category labels are the service's official Japanese ones."""
    catalog = ja_catalog()
    expected = {
        "Malware infection": "マルウェア感染",
        "Ransomware": "ランサムウェア",
        "Unauthorized access / login": "不正アクセス・不正ログイン",
        "Vulnerability exploitation": "脆弱性悪用",
        "Phishing / business e-mail compromise": "フィッシング・ビジネスメール詐欺",
        "Tech-support scam": "サポート詐欺",
        "Website defacement": "Webサイト改ざん",
        "DoS attack": "DoS攻撃",
        "Data leak (incl. mis-sent mail, lost devices)": "情報漏えい（誤送信・紛失を含む）",
        "Suspicious traffic (unconfirmed alert)": "不審通信（未確認のアラート）",
        "Insider misconduct": "内部不正",
        "Other": "その他",
    }
    assert {msgid: catalog.get(msgid).string for msgid in expected} == expected


def assert_japanese(response):
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "セキュリティインシデントのご報告" in page
    assert "Report a security incident" not in page
    assert "サイバーセキュリティお助け隊 相談窓口" in page
    assert "情報漏えい（誤送信・紛失を含む）" in page  # a lazy_gettext form choice
    assert "お名前" in page                            # a lazy_gettext form label


def assert_english(response):
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Report a security incident" in page
    assert "セキュリティインシデントのご報告" not in page
    assert "Cyber Security Otasuketai desk" in page
    assert "Data leak (incl. mis-sent mail, lost devices)" in page
    assert "Your name" in page


@pytest.mark.usefixtures("compiled_catalogs")
def test_report_page_is_japanese_by_default(client):
    assert_japanese(client.get("/report"))


@pytest.mark.usefixtures("compiled_catalogs")
def test_lang_parameter_switches_to_english(client):
    assert_english(client.get("/report?lang=en"))
    # ?lang= is for that request only.
    assert_japanese(client.get("/report"))


@pytest.mark.usefixtures("compiled_catalogs")
def test_language_cookie_switches_to_english_and_back(client):
    response = client.get("/lang/en?next=/report")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/report")
    assert client.get_cookie("lang").value == "en"
    assert_english(client.get("/report"))

    client.get("/lang/ja?next=/report")
    assert_japanese(client.get("/report"))


@pytest.mark.usefixtures("compiled_catalogs")
def test_unknown_language_falls_back_to_japanese(client):
    assert_japanese(client.get("/report?lang=fr"))


TEMPLATE = ("{{ _('On time') }}|{{ _('%(m)s min', m=5) }}|{{ _('%(time)s left', time=t) }}"
            "|{{ ngettext('%(num)s item', '%(num)s items', 2) }}")


@pytest.mark.usefixtures("compiled_catalogs")
def test_templates_follow_the_request_language_and_force_locale(app):
    """Templates translate through a per-request catalog (app/web/i18n.py): it must follow
    force_locale (messages in the recipient's language) and then return to the page's."""
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/?lang=en"):
        english = render_template_string(TEMPLATE, t="<b>")
        with force_locale("ja"):
            forced = render_template_string(TEMPLATE, t="<b>")
        again = render_template_string(TEMPLATE, t="<b>")
    with app.test_request_context("/"):
        japanese = render_template_string(TEMPLATE, t="<b>")

    assert english == again == "On time|5 min|&lt;b&gt; left|2 items"
    assert forced == japanese == "期限内|5分|残り&lt;b&gt;|2 items"  # escaped in either


@pytest.mark.usefixtures("compiled_catalogs")
def test_templates_follow_force_locale_in_the_workers_app_context(app):
    """The worker renders messages in one long app context, one recipient's language after
    another: each rendering is in its own language."""
    from flask_babel import force_locale

    template = app.jinja_env.from_string("{{ _('On time') }}")
    with app.app_context():
        rendered = []
        for locale in ("en", "ja", "en", "ja"):
            with force_locale(locale):
                rendered.append(template.render())
    assert rendered == ["On time", "期限内", "On time", "期限内"]
