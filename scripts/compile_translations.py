"""Compile translations/*/LC_MESSAGES/messages.po to .mo (the .mo files are not in git).

Run from the repository root:

    python scripts/compile_translations.py          # only catalogs whose .mo is missing or stale
    python scripts/compile_translations.py --force  # every catalog

or from Python: ``from scripts.compile_translations import compile_all``.

A catalog with errors (unparsable lines, a fuzzy header, placeholders that do not
match the English msgid) is not compiled; the script exits with status 1 and
says which file and entry is wrong.

To add new UI strings to the catalogs:

    pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
        --project=Kaketsuke -o translations/messages.pot .
    pybabel update -i translations/messages.pot -d translations -w 100 --no-fuzzy-matching

then translate the new empty msgstr entries in translations/ja/LC_MESSAGES/messages.po.
"""

import os
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"


class CatalogError(Exception):
    """One or more catalogs could not be compiled; the message lists why."""


def _catalog_problems(catalog, po_path):
    problems = []
    if catalog.fuzzy:
        problems.append(f"{po_path}: the catalog header is marked fuzzy (remove '#, fuzzy')")
    for message, errors in catalog.check():
        for error in errors:
            problems.append(f"{po_path}:{message.lineno}: msgid {message.id!r}: {error}")
    return problems


def _write_mo_atomically(catalog, mo_path):
    """Write next to the target, then rename, so a reader never sees half a file."""
    fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=f".{mo_path.name}.",
                                    suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it 0600; the app server may be another user
        os.replace(tmp_name, mo_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _is_stale(po_path, mo_path):
    return not mo_path.exists() or mo_path.stat().st_mtime_ns < po_path.stat().st_mtime_ns


def compile_all(translations_dir=TRANSLATIONS_DIR, force=False):
    """Compile each <lang>/LC_MESSAGES/messages.po whose .mo is missing or older.

    Returns the list of .mo paths written (empty when everything was up to date).
    Raises CatalogError listing every problem if any catalog has errors; catalogs
    without errors are still compiled.
    """
    translations_dir = Path(translations_dir)
    written, problems = [], []
    for po_path in sorted(translations_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and not _is_stale(po_path, mo_path):
            continue
        locale = po_path.parent.parent.name
        try:
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=locale, domain=DOMAIN, abort_invalid=True)
        except PoFileError as exc:
            problems.append(f"{po_path}: {exc}")
            continue
        catalog_problems = _catalog_problems(catalog, po_path)
        if catalog_problems:
            problems.extend(catalog_problems)
            continue
        _write_mo_atomically(catalog, mo_path)
        written.append(mo_path)
    if problems:
        raise CatalogError("\n".join(problems))
    return written


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if any(arg not in ("--force",) for arg in argv):
        print("usage: python scripts/compile_translations.py [--force]", file=sys.stderr)
        return 2
    try:
        written = compile_all(force="--force" in argv)
    except CatalogError as exc:
        print(f"Translation catalogs have errors; not compiled:\n{exc}", file=sys.stderr)
        return 1
    for mo_path in written:
        print(f"compiled {mo_path}")
    if not written:
        print("translations are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
