"""The Chinese edition stays complete and in step with the English (scripts/translations.py).

- every English lesson and assignment has a Chinese twin with the same cells: code identical,
  Markdown translated from the English text as it is now (a changed English cell makes its
  translation stale), the same quote markers;
- every message tlhelpers marks for translation has a Chinese entry with the same placeholders;
- every string a student reads in tlhelpers is marked (a literal message in a ``raise``, a
  ``print``, a check's verdict, a widget's label or a plot's title fails here).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import translations  # noqa: E402

from tlhelpers import i18n  # noqa: E402


@pytest.mark.parametrize("pair", translations.pairs(), ids=lambda p: str(p[1].relative_to(REPO)))
def test_every_twin_is_complete_and_up_to_date(pair) -> None:
    report = translations.check_pair(*pair)
    assert not report, (f"{report.path.relative_to(REPO)} (scripts/translations.py status lists these):\n"
                        + "\n".join(report.problems))


def test_there_is_a_twin_for_every_lesson_and_assignment() -> None:
    twins = [zh for _, zh in translations.pairs()]
    assert len(twins) == 12 and all(zh.is_file() for zh in twins)


def test_the_catalog_translates_every_marked_message() -> None:
    problems = translations.catalog_problems()
    assert not problems, "run scripts/translations.py catalog, then translate:\n" + "\n".join(problems[:40])


# Modules a student never reads from: the command line, the grader's machinery, the plumbing.
NOT_STUDENT_FACING = {
    "__main__", "doctor", "pretrain", "prefetch", "runner",  # command line (teachers, set-up)
    "cell_runner", "sandbox", "sandboxed_grading", "nbgrader_sandbox", "grading", "evidence",  # grading
    "kernel_stream", "notebook_client", "keras_internals", "settings", "i18n",  # plumbing
}
# Calls whose string arguments a student reads, and keywords that label something shown.
SHOWN_CALLS = {"print", "Feedback", "expect", "warn", "set_title", "set_xlabel", "set_ylabel", "suptitle",
               "title", "xlabel", "ylabel", "set_description"}
SHOWN_KEYWORDS = {"description", "placeholder", "tooltip", "title", "label", "xlabel", "ylabel", "desc", "message"}
MARKERS = {"_", "ngettext", "pgettext", "N_"}
NOT_SHOWN_CALLS = {"filterwarnings", "simplefilter"}  # their ``message=`` is a pattern, not a message
NAMES = ("Grad-CAM", "Keras Tuner", "Hyperband")  # the same in every language (docs/glossary.md)


def _has_words(text: str) -> bool:
    """Whether ``text`` holds an English word to translate (Chinese in it: written bilingual on purpose)."""
    if translations.CJK.search(text):
        return False
    for name in NAMES:
        text = text.replace(name, " ")
    return any(part.isalpha() and len(part) > 1 for part in "".join(c if c.isalpha() else " " for c in text).split())


def unmarked(node: ast.AST) -> bool:
    """Whether ``node``, an argument of a call that shows text, is a literal message not passed through ``_``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and _has_words(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and _has_words(str(v.value)) for v in node.values)
    if isinstance(node, ast.BinOp):
        return unmarked(node.left) or unmarked(node.right)
    if isinstance(node, ast.IfExp):
        return unmarked(node.body) or unmarked(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return unmarked(node.func.value)
    return False


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def unmarked_messages(path: Path, root: Path = REPO) -> list[str]:
    """``file:line: text`` for each literal message in ``path`` that a student reads untranslated."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    raised = {id(n.exc) for n in ast.walk(tree) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _name(node.func) in MARKERS | NOT_SHOWN_CALLS:
            continue
        shown = id(node) in raised or _name(node.func) in SHOWN_CALLS
        candidates = (list(node.args) if shown else []) + [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        for arg in candidates:
            if unmarked(arg):
                found.append(f"{path.relative_to(root)}:{arg.lineno}: {ast.unparse(arg)[:90]}")
    return found


def student_facing_modules() -> list[Path]:
    package = REPO / "tlhelpers"
    return [p for p in sorted(package.rglob("*.py"))
            if p.stem != "__init__" and ".".join(p.relative_to(package).with_suffix("").parts) not in NOT_STUDENT_FACING]


def test_every_message_a_student_reads_is_marked_for_translation() -> None:
    found = [line for path in student_facing_modules() for line in unmarked_messages(path)]
    assert not found, (f"{len(found)} message(s) a student reads are not marked for translation: wrap them in "
                       "_() (tlhelpers.i18n), then run scripts/translations.py catalog:\n" + "\n".join(found[:60]))


def test_the_marking_rule_catches_literals_and_passes_translated_ones(tmp_path: Path) -> None:
    code = tmp_path / "m.py"
    code.write_text(
        'raise ValueError(f"unknown backbone {name!r}")\n'
        'print(_("accuracy {a:.3f}").format(a=a))\n'
        'widgets.Button(description="Train")\n'
        'widgets.Button(description=_("Train"), icon="play")\n'
        'ax.set_title("loss " + str(k))\n'
        'print(f"{value:.3f}")\n', encoding="utf-8")
    lines = [int(entry.split(":")[1]) for entry in unmarked_messages(code, root=tmp_path)]
    assert lines == [1, 3, 5]


def _twin_pair(tmp_path: Path) -> tuple[Path, Path]:
    en = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nSome prose <!-- q:tuner.offline.winner_rates -->x<!-- /q -->.", id="m1"),
        nbformat.v4.new_code_cell("print(1)", id="c1"),
        nbformat.v4.new_markdown_cell("More prose.", id="m2"),
    ])
    en_path, zh_path = tmp_path / "00_x.ipynb", tmp_path / "zh" / "00_x.ipynb"
    nbformat.write(en, en_path)
    translations.sync_pair(en_path, zh_path)
    zh = nbformat.read(zh_path, as_version=4)
    zh.cells[0].source = "# 标题\n\n一些文字 <!-- q:tuner.offline.winner_rates -->x<!-- /q -->。"
    zh.cells[3].source = "更多文字。"
    for cell in (zh.cells[0], zh.cells[3]):
        cell.metadata["translation"]["en_sha256"] = translations.en_hash(en.cells[[0, 0, 0, 2][zh.cells.index(cell)]].source)
    nbformat.write(zh, zh_path)
    return en_path, zh_path


def test_a_twin_is_checked_cell_by_cell(tmp_path: Path) -> None:
    en_path, zh_path = _twin_pair(tmp_path)
    assert not translations.check_pair(en_path, zh_path)
    zh = nbformat.read(zh_path, as_version=4)
    assert [c.id for c in zh.cells] == ["m1", translations.LANGUAGE_CELL_ID, "c1", "m2"]

    en = nbformat.read(en_path, as_version=4)
    en.cells[2].source = "More prose, changed."
    en.cells[1].source = "print(2)"
    en.cells.append(nbformat.v4.new_markdown_cell("New.", id="m3"))
    nbformat.write(en, en_path)
    problems = "\n".join(translations.check_pair(en_path, zh_path).problems)
    assert "m2: stale" in problems and "code cell c1 differs" in problems and "missing ['m3']" in problems

    todo = translations.sync_pair(en_path, zh_path)  # code and new cells follow; the stale one keeps its Chinese
    assert todo == ["m2", "m3"]
    zh = nbformat.read(zh_path, as_version=4)
    assert zh.cells[2].source == "print(2)" and zh.cells[3].source == "更多文字。"
    assert [p for p in translations.check_pair(en_path, zh_path).problems] == [
        "markdown cell m2: stale (the English changed since it was translated: update it, then mark it)",
        "markdown cell m3: untranslated"]


def test_a_translation_must_keep_the_quotes(tmp_path: Path) -> None:
    en_path, zh_path = _twin_pair(tmp_path)
    zh = nbformat.read(zh_path, as_version=4)
    zh.cells[0].source = "# 标题\n\n一些文字。"
    nbformat.write(zh, zh_path)
    assert "must keep the English cell's quotes ['tuner.offline.winner_rates']" in "\n".join(
        translations.check_pair(en_path, zh_path).problems)


def test_the_language_comes_from_the_argument_the_environment_or_course_toml(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TL_LANG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "course.toml").write_text('language = "zh"\n')
    assert i18n.current_language() == "zh"
    monkeypatch.setenv("TL_LANG", "en")
    assert i18n.current_language() == "en" and i18n.current_language("zh") == "zh"
    monkeypatch.setenv("TL_LANG", "fr")
    with pytest.raises(ValueError, match=r"unknown language 'fr' \(from \$TL_LANG\); choose one of: en \(English\), zh"):
        i18n.current_language()


def test_a_message_the_catalog_lacks_stays_english_and_a_translated_one_is_chinese(monkeypatch, tmp_path) -> None:
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "tlhelpers.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        'msgid "{n} of {total} right"\nmsgstr "{total} 个中对了 {n} 个"\n\n'
        'msgid "{n} label"\nmsgid_plural "{n} labels"\nmsgstr[0] "{n} 个标注"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setenv("TL_LANG", "zh")
    assert i18n._("{n} of {total} right").format(n=3, total=4) == "4 个中对了 3 个"
    assert i18n.ngettext("{n} label", "{n} labels", 5).format(n=5) == "5 个标注"
    assert i18n._("not in the catalog") == "not in the catalog"
    monkeypatch.setenv("TL_LANG", "en")
    assert i18n._("{n} of {total} right").format(n=3, total=4) == "3 of 4 right"


def test_the_chinese_lessons_choose_chinese_themselves() -> None:
    for _, zh_path in translations.pairs():
        nb = nbformat.read(zh_path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert translations.is_language_cell(first_code) and 'use_language("zh")' in first_code.source


def test_chinese_figures_get_a_font_with_chinese_glyphs(monkeypatch) -> None:
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt

    from tlhelpers import display

    called = []
    monkeypatch.setattr(display, "show_chinese", lambda: called.append(True))
    monkeypatch.setenv("TL_LANG", "zh")
    i18n._translations.cache_clear()
    i18n._("Hint")
    assert called, "loading the Chinese catalog must set up figures for Chinese"
    monkeypatch.undo()

    with matplotlib.rc_context():
        font = display.show_chinese()  # make setup installs one (the Makefile's `fonts`)
        assert font in display.CJK_FONTS
        fig, ax = plt.subplots()
        ax.set_title("验证准确率 validation accuracy")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" for each box it draws
            fig.canvas.draw()
        plt.close(fig)
