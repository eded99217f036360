"""Keep the Chinese edition in step with the English: the notebooks and the message catalog.

Notebooks. Each English lesson ``notebooks/NN_*.ipynb`` has a Chinese twin in
``notebooks/zh/``, each assignment ``assignments/source/<a>/<nb>.ipynb`` one in
``assignments/zh/source/<a>/``. A twin has the English cells in the same order with the
same ids: code cells identical, Markdown cells translated, each recording in its metadata
the hash of the English text it translates (``translation.en_sha256``). Before its first code
cell it has one cell of its own, tagged ``language``, that selects Chinese. When an English
cell changes, its translation is *stale* until someone updates it and marks it again.

    python scripts/translations.py status            # what is stale, missing or untranslated
    python scripts/translations.py sync              # twins follow the English cells (code, order, new cells)
    python scripts/translations.py mark FILE [--cell ID ...]   # "these translated cells are up to date"

Messages. Strings in ``tlhelpers`` marked with ``_()``, ``ngettext()``, ``pgettext()`` or ``N_()`` go to the
gettext catalog ``tlhelpers/locale/zh/LC_MESSAGES/tlhelpers.po`` (Babel):

    python scripts/translations.py catalog           # extract, add new messages, drop unused ones
    python scripts/translations.py part P.po tlhelpers/widgets   # a part to translate separately
    python scripts/translations.py catalog --part P.po           # ... merged back

``tests/test_translations.py`` fails on anything ``status`` reports.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
LANGUAGE = "zh"
LANGUAGE_CELL_ID = "zh-language"
LANGUAGE_CELL = ('from tlhelpers.i18n import use_language\n\n'
                 'use_language("zh")  # 本课的检查提示、表格与控件都用中文显示')
CJK = re.compile(r"[\u4e00-\u9fff]")
PACKAGE = REPO / "tlhelpers"
CATALOG = PACKAGE / "locale" / LANGUAGE / "LC_MESSAGES" / "tlhelpers.po"
TEMPLATE = PACKAGE / "locale" / "tlhelpers.pot"
KEYWORDS = {"_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
CATALOG_DATE = datetime(2026, 12, 6, tzinfo=timezone.utc)  # fixed: an update changes only what changed


def en_hash(source: str) -> str:
    """The hash a translation records of the English cell it translates.

    Example:
        >>> en_hash("# Title")
        '79aeaf7ba450cdab'
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def pairs(root: Path = REPO) -> list[tuple[Path, Path]]:
    """Every English notebook with the path of its Chinese twin."""
    lessons = [(p, p.parent / LANGUAGE / p.name) for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    source = root / "assignments" / "source"
    assignments = [(p, root / "assignments" / LANGUAGE / "source" / p.relative_to(source))
                   for p in sorted(source.glob("*/*.ipynb"))]
    return lessons + assignments


def language_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(LANGUAGE_CELL, id=LANGUAGE_CELL_ID)
    cell.metadata["tags"] = ["language"]
    return cell


def is_language_cell(cell: nbformat.NotebookNode) -> bool:
    return "language" in cell.metadata.get("tags", [])


@dataclass
class Report:
    """What a twin lacks: cells missing or extra, code that differs, Markdown untranslated or stale."""

    path: Path
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.problems)


def check_pair(en_path: Path, zh_path: Path) -> Report:
    """Compare one twin with its English notebook."""
    report = Report(zh_path)
    if not zh_path.is_file():
        report.problems.append("missing: run scripts/translations.py sync, then translate")
        return report
    en = nbformat.read(en_path, as_version=4)
    zh = nbformat.read(zh_path, as_version=4)
    own = [c for c in zh.cells if is_language_cell(c)]
    if len(own) != 1 or own[0].source != LANGUAGE_CELL:
        report.problems.append(f"needs exactly one cell tagged 'language' reading {LANGUAGE_CELL!r}")
    cells = [c for c in zh.cells if not is_language_cell(c)]
    first_code = next((i for i, c in enumerate(zh.cells) if c.cell_type == "code"), None)
    if own and first_code is not None and not is_language_cell(zh.cells[first_code]):
        report.problems.append("the 'language' cell must come before the first code cell")
    en_ids, zh_ids = [c.id for c in en.cells], [c.id for c in cells]
    if en_ids != zh_ids:
        missing = [i for i in en_ids if i not in zh_ids]
        extra = [i for i in zh_ids if i not in en_ids]
        report.problems.append(f"cells differ from the English (missing {missing}, extra {extra}"
                               f"{', or in another order' if not (missing or extra) else ''}): run sync")
    by_id = {c.id: c for c in en.cells}
    for cell in cells:
        original = by_id.get(cell.id)
        if original is None:
            continue
        if cell.cell_type != original.cell_type:
            report.problems.append(f"cell {cell.id}: {cell.cell_type} here, {original.cell_type} in the English")
        elif cell.cell_type == "code":
            if cell.source != original.source:
                report.problems.append(f"code cell {cell.id} differs from the English: run sync")
        elif cell.cell_type == "markdown":
            recorded = cell.metadata.get("translation", {}).get("en_sha256")
            if not recorded or not CJK.search(cell.source):
                report.problems.append(f"markdown cell {cell.id}: untranslated")
            elif recorded != en_hash(original.source):
                report.problems.append(f"markdown cell {cell.id}: stale (the English changed since it was "
                                       f"translated: update it, then mark it)")
            quoted = sorted(re.findall(r"<!-- q:([\w.-]+) -->", original.source))
            if recorded and sorted(re.findall(r"<!-- q:([\w.-]+) -->", cell.source)) != quoted:
                report.problems.append(f"markdown cell {cell.id}: must keep the English cell's quotes {quoted}")
    return report


def sync_pair(en_path: Path, zh_path: Path) -> list[str]:
    """Make the twin follow the English cells; return the ids of cells that need translating."""
    en = nbformat.read(en_path, as_version=4)
    old = nbformat.read(zh_path, as_version=4) if zh_path.is_file() else None
    kept = {c.id: c for c in old.cells} if old else {}
    cells, todo = [], []
    for original in en.cells:
        if original.cell_type == "code" and not any(c.cell_type == "code" for c in cells):
            cells.append(kept.get(LANGUAGE_CELL_ID) or language_cell())
        previous = kept.get(original.id)
        if original.cell_type == "code":
            cell = copy.deepcopy(original)
            if previous is not None and previous.source == original.source:
                cell.outputs, cell.execution_count = previous.outputs, previous.execution_count
        elif previous is not None and previous.cell_type == original.cell_type:
            cell = previous
            cell.metadata.update({k: v for k, v in original.metadata.items() if k != "translation"})
            if cell.metadata.get("translation", {}).get("en_sha256") != en_hash(original.source):
                todo.append(original.id)
        else:
            cell = copy.deepcopy(original)
            cell.metadata["translation"] = {"en_sha256": ""}
            todo.append(original.id)
        cells.append(cell)
    zh = copy.deepcopy(en)
    zh.cells = cells
    if old is not None:
        zh.metadata = old.metadata
    zh_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(zh, zh_path)
    return todo


def mark(zh_path: Path, cell_ids: list[str] | None = None) -> list[str]:
    """Record the English hash on the given translated cells (default: every translated Markdown cell)."""
    en_path = dict((z.resolve(), e) for e, z in pairs())[zh_path.resolve()]
    en = {c.id: c for c in nbformat.read(en_path, as_version=4).cells}
    zh = nbformat.read(zh_path, as_version=4)
    marked = []
    for cell in zh.cells:
        if cell.cell_type != "markdown" or cell.id not in en:
            continue
        if cell_ids is not None and cell.id not in cell_ids:
            continue
        if not CJK.search(cell.source):
            if cell_ids is not None:
                raise SystemExit(f"{zh_path}: cell {cell.id} holds no Chinese yet; translate it before marking it")
            continue
        cell.metadata.setdefault("translation", {})["en_sha256"] = en_hash(en[cell.id].source)
        marked.append(cell.id)
    unknown = sorted(set(cell_ids or []) - set(marked))
    if unknown:
        raise SystemExit(f"{zh_path}: no translated markdown cell with id {unknown}")
    nbformat.write(zh, zh_path)
    return marked


def extract(paths: list[Path] | None = None):
    """The messages marked in ``tlhelpers`` (or only in ``paths``), as a Babel catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    catalog = Catalog(project="tlhelpers", domain="tlhelpers", charset="utf-8")
    paths = [p.resolve() for p in paths or []]
    files = sorted(PACKAGE.rglob("*.py")) if not paths else sorted(
        f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))
    for path in files:
        for lineno, message, comments, context in extract_from_file("python", str(path), keywords=KEYWORDS,
                                                                    comment_tags=("i18n:",)):
            catalog.add(message, None, [(str(path.relative_to(REPO)), lineno)], auto_comments=comments,
                        context=context)
    return catalog


def read_catalog(path: Path = CATALOG):
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return read_po(f, locale=LANGUAGE, domain="tlhelpers")


def write_catalog(catalog, path: Path) -> None:
    """Write ``catalog`` to ``path`` atomically (a reader never sees half a file)."""
    from babel.messages.pofile import write_po

    catalog.fuzzy = False
    catalog.creation_date = catalog.revision_date = CATALOG_DATE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    with partial.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False, include_previous=False)
    partial.replace(path)


def update_part(part: Path, paths: list[Path]) -> tuple[int, int]:
    """Write ``part``: the messages marked in ``paths``, keeping the translations it already has.

    A part lets several people translate different modules at once; ``catalog --part`` merges it.
    """
    catalog = updated(part, extract(paths))
    write_catalog(catalog, part)
    return counts(catalog)


def updated(path: Path, template):
    """The catalog in ``path`` (a new one if there is none) with exactly ``template``'s messages, translations kept."""
    from babel.messages.catalog import Catalog

    catalog = read_catalog(path) if path.is_file() else Catalog(locale=LANGUAGE, project="tlhelpers", domain="tlhelpers")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def counts(catalog) -> tuple[int, int]:
    """``(messages, untranslated)`` of a catalog."""
    messages = [m for m in catalog if m.id]
    return len(messages), sum(1 for m in messages if not translated(m))


def update_catalog(parts: list[Path] = ()) -> tuple[int, int]:
    """Extract the messages, update the template and the Chinese catalog; return (messages, untranslated).

    Translations in ``parts`` (other ``.po`` files, translated separately) replace the catalog's.
    """
    template = extract()
    write_catalog(template, TEMPLATE)
    catalog = updated(CATALOG, template)
    for part in parts:
        for message in read_catalog(part):
            entry = catalog.get(message.id, message.context) if message.id else None
            if entry is not None and translated(message):
                entry.string, entry.flags = message.string, set()
    write_catalog(catalog, CATALOG)
    return counts(catalog)


def translated(message) -> bool:
    """Whether a catalog entry has a translation in every form and is not marked fuzzy."""
    return bool(message.string) and all(_forms(message.string)) and not message.fuzzy


def catalog_problems() -> list[str]:
    """Messages marked in the code but untranslated, fuzzy or missing in the Chinese catalog."""
    if not CATALOG.is_file():
        return [f"{CATALOG.relative_to(REPO)}: missing: run scripts/translations.py catalog"]
    catalog = read_catalog()
    problems = []
    for message in extract():
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        if entry is None:
            problems.append(f"not in the catalog ({where}): {message.id!r}: run scripts/translations.py catalog")
        elif not translated(entry):
            problems.append(f"untranslated ({where}): {message.id!r}")
        else:
            for original, chinese in zip(_forms(message.id), _forms(entry.string)):
                if placeholders(original) != placeholders(chinese):
                    problems.append(f"placeholders differ ({where}): {original!r} -> {chinese!r}")
    return problems


def _forms(value) -> list[str]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def placeholders(text: str) -> list[str]:
    """The ``str.format`` fields of a message, sorted (a translation must keep them all).

    Example:
        >>> placeholders("{n} of {total!r} ({share:.0%})")
        ['n', 'share', 'total']
    """
    return sorted({m.split("!")[0].split(":")[0] for m in re.findall(r"(?<!\{)\{([^{}]*)\}", text)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/translations.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="list what is stale, missing or untranslated (exit 1 if anything)")
    commands.add_parser("sync", help="make the Chinese notebooks follow the English cells")
    m = commands.add_parser("mark", help="record that translated cells are up to date with the English")
    m.add_argument("notebook", type=Path)
    m.add_argument("--cell", action="append", help="only this cell id (repeatable); default: every translated cell")
    c = commands.add_parser("catalog", help="extract tlhelpers' messages into the catalog")
    c.add_argument("--part", action="append", type=Path, default=[],
                   help="take translations from this .po file too (repeatable)")
    p = commands.add_parser("part", help="write a partial catalog of some modules' messages, to translate separately")
    p.add_argument("part", type=Path, help="the .po file to write (its translations are kept)")
    p.add_argument("paths", nargs="+", type=Path, help="modules or folders of tlhelpers")
    args = parser.parse_args(argv)
    if args.command == "part":
        total, untranslated = update_part(args.part, args.paths)
        print(f"{args.part}: {total} messages, {untranslated} untranslated")
        return 0
    if args.command == "sync":
        for en_path, zh_path in pairs():
            todo = sync_pair(en_path, zh_path)
            print(f"{zh_path.relative_to(REPO)}: " + (f"to translate: {', '.join(todo)}" if todo else "up to date"))
        return 0
    if args.command == "mark":
        marked = mark(args.notebook, args.cell)
        print(f"{args.notebook}: marked {len(marked)} cell(s) as translating the current English")
        return 0
    if args.command == "catalog":
        total, untranslated = update_catalog(args.part)
        print(f"{CATALOG.relative_to(REPO)}: {total} messages, {untranslated} untranslated")
        return 0
    problems = [f"{r.path.relative_to(REPO)}: {p}" for r in map(lambda pair: check_pair(*pair), pairs()) for p in r.problems]
    problems += [f"{CATALOG.relative_to(REPO)}: {p}" for p in catalog_problems()]
    print("\n".join(problems) or "the Chinese edition is complete and up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
