"""Rendering: kbapp's Markdown extensions (tested through markdown() directly) and sanitising."""

from __future__ import annotations

import time
from pathlib import PurePosixPath, PureWindowsPath

import markdown
import pytest

from kbapp.documents.mdext import (
    UNWRITTEN,
    AlertExtension,
    ScaffoldExtension,
    TaskListExtension,
    WikiLinkExtension,
)
from kbapp.documents.render import local_image_path, render_markdown
from kbapp.workspace import Workspace


def _resolver(target: str) -> tuple[str, str] | None:
    return {
        "kb-3f9c2a1e": ("kb-3f9c2a1e", "Fail over"),
        "Fail over": ("kb-3f9c2a1e", "Fail over"),
    }.get(target)


def test_wiki_links_by_id_title_and_label() -> None:
    html = markdown.markdown(
        "[[kb-3f9c2a1e]] [[Fail over|the failover]] [[Nowhere]]",
        extensions=[WikiLinkExtension(resolver=_resolver)],
    )
    assert '<a class="kblink" href="kb:kb-3f9c2a1e" title="Fail over">Fail over</a>' in html
    assert ">the failover</a>" in html
    assert '<span class="kblink broken" title="No document matches Nowhere">Nowhere</span>' in html


def test_docfx_alerts_become_admonitions() -> None:
    html = markdown.markdown("> [!WARNING]\n> Stop the app first.\n", extensions=[AlertExtension()])
    assert '<div class="admonition warning">' in html
    assert '<p class="admonition-title">Warning</p>' in html and "Stop the app first." in html
    plain = markdown.markdown("> just a quote\n", extensions=[AlertExtension()])
    assert "<blockquote>" in plain


def test_task_lists_are_numbered_checkboxes() -> None:
    md = markdown.Markdown(extensions=[TaskListExtension()])
    html = md.convert("- [ ] drain node\n- [x] page the DBA\n- plain item\n")
    assert (
        '<li class="task-item" id="task-1"><span class="task">\u2610 </span>drain node</li>' in html
    )
    assert 'id="task-2"' in html and "\u2611" in html
    assert md.task_count == 2  # type: ignore[attr-defined]


def test_full_rendering_tables_code_headings_and_copy_links() -> None:
    body = "# Title\n\n## Steps\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```bash\necho 'a < b'\n```\n"
    rendered = render_markdown(body)
    assert "<table>" in rendered.html and '<h2 id="steps">Steps</h2>' in rendered.html
    assert [(t.level, t.title, t.anchor) for t in rendered.toc] == [
        (1, "Title", "title"),
        (2, "Steps", "steps"),
    ]
    assert rendered.code_blocks == ["echo 'a < b'"]
    assert '<a href="copy:0"' in rendered.html
    assert 'class="codehilite"' in rendered.html


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ("[data](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
        ('<a href="file:///etc/passwd">f</a>', "file:"),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
        ('<svg onload="alert(1)"><circle/></svg>', "<svg"),
        ('<div style="position:fixed;top:0">x</div>', "style="),
        ('<object data="x.swf"></object>', "<object"),
        ("<style>body{display:none}</style>", "<style"),
        ('<form action="https://evil"><input name=p></form>', "<form"),
        ("![pixel](https://tracker.example/p.gif)", "tracker.example"),
        ('<img src="https://tracker.example/p.gif">', "tracker.example"),
        ('<meta http-equiv="refresh" content="0;url=https://evil">', "<meta"),
        ('<a href="https://ok.example" onclick="steal()">x</a>', "onclick"),
    ],
)
def test_hostile_content_is_neutralised(hostile: str, forbidden: str) -> None:
    html = render_markdown(f"Before\n\n{hostile}\n\nAfter\n").html
    assert forbidden not in html
    assert "Before" in html and "After" in html


def test_remote_images_are_replaced_by_a_note_and_local_ones_kept() -> None:
    html = render_markdown("![diagram](https://cdn.example/d.png) ![local](img/d.png)").html
    assert "[diagram: remote images are not loaded]" in html
    assert '<img alt="local" src="img/d.png">' in html


def test_oversized_input_is_shown_as_plain_text_quickly() -> None:
    started = time.perf_counter()
    rendered = render_markdown("x" * 3_000_000)
    assert rendered.plain_text_fallback and "too large to format" in rendered.html
    assert time.perf_counter() - started < 5


def test_rendered_changes_mark_whole_blocks_as_the_reader_shows_them() -> None:
    from kbapp.documents.renderdiff import rendered_changes

    steps = "".join(f"{n}. step {n}\n" for n in range(1, 4))
    filler = "".join(f"Paragraph {n}.\n\n" for n in range(8))
    old = f"# Restart\n\n{filler}{steps}\n```bash\nsystemctl restart api\n```\n\nEnd.\n"
    new = old.replace("2. step 2", "2. step two, **carefully**").replace("End.", "> New note")
    blocks = rendered_changes(old, new)
    kinds = [b.change for b in blocks]
    # the unchanged start shortened to a gap and the two blocks before the change
    assert kinds == ["gap", "same", "same", "removed", "added", "same", "removed", "added"]
    assert [b.html for b in blocks[1:3]] == ["<p>Paragraph 6.</p>", "<p>Paragraph 7.</p>"]
    removed, added = blocks[3].html, blocks[4].html
    assert removed.startswith("<ol>") and "step 2" in removed
    assert "<strong>carefully</strong>" in added and "**" not in added
    assert blocks[5].html.startswith('<div class="codehilite">') and "copy:" not in blocks[5].html
    assert blocks[7].html.startswith("<blockquote>")
    # a first version: everything added
    assert {b.change for b in rendered_changes("", "# T\n\nText.\n")} == {"added"}


def test_side_by_side_marks_changed_words_and_shortens_unchanged_runs() -> None:
    from kbapp.documents.renderdiff import ADDED, REMOVED, side_by_side_html

    old = "\n".join(f"line {n}" for n in range(20)) + "\nrestart <the> api\n"
    new = old.replace("restart <the> api", "restart <the> worker") + "added line\n"
    new = new.replace("line 1\n", "line one\n")
    page = side_by_side_html(old, new, "Monday", "Tuesday")
    assert "<th width='50%'>Monday</th>" in page
    # three lines of context around each change, a gap between
    assert "line 4<" in page and "line 8<" not in page and "line 17<" in page
    assert page.count("⋯") == 2  # one row, both sides
    assert "<del>api</del>" in page and "<ins>worker</ins>" in page
    assert "&lt;the&gt;" in page and "<the>" not in page  # the text is escaped
    assert f"bgcolor='{REMOVED}'" in page and f"bgcolor='{ADDED}'" in page
    assert "added line" in page


@pytest.mark.parametrize(
    "source",
    [
        "%5C%5Cevil.example%5Cshare%5Ct.png",
        "%2F%2Fevil.example/share/t.png",
        "%252F%252Fevil.example/share/t.png",
        "/%2Fevil.example/share/t.png",
        "%5C%5C?%5CUNC%5Cevil.example%5Cshare%5Ct.png",
        "C%3A%5CUsers%5Cme%5Ct.png",
    ],
)
def test_percent_encoded_unc_and_absolute_image_sources_are_dropped(source: str) -> None:
    html = render_markdown(f"![b]({source}) [l]({source})").html
    assert "evil" not in html and "Users" not in html, html
    html = render_markdown("![b](%2Fetc%2Fpasswd.png)").html
    assert "passwd" not in html, html


def test_relative_percent_encoded_images_and_links_still_work() -> None:
    html = render_markdown("![b](img/a%20b.png) [l](other%20doc.md)").html
    assert 'src="img/a%20b.png"' in html and 'href="other%20doc.md"' in html


@pytest.mark.parametrize(
    "source",
    [
        "\\\\evil.example\\share\\t.png",
        "//evil.example/share/t.png",
        "\\\\?\\UNC\\evil.example\\share\\t.png",
        "C:\\Users\\t.png",
        "C:t.png",
        "/t.png",
        "\\t.png",
        "../../../../outside.png",
        "../../../t.png",
        "img/../../../../t.png",
        "t.png:stream",
        "",
    ],
)
@pytest.mark.parametrize("flavour", [PureWindowsPath, PurePosixPath])
def test_image_paths_outside_the_knowledge_base_are_refused_by_pure_path_logic(
    source: str, flavour: type[PureWindowsPath] | type[PurePosixPath]
) -> None:
    assert local_image_path("runbooks/net", source, flavour) is None


@pytest.mark.parametrize("flavour", [PureWindowsPath, PurePosixPath])
def test_image_paths_inside_the_knowledge_base_are_kept(
    flavour: type[PureWindowsPath] | type[PurePosixPath],
) -> None:
    assert local_image_path("runbooks/net", "img/a b.png", flavour) == PurePosixPath(
        "runbooks/net/img/a b.png"
    )
    assert local_image_path("runbooks/net", "../../shared/t.png", flavour) == PurePosixPath(
        "shared/t.png"
    )
    assert local_image_path("", "./t.png", flavour) == PurePosixPath("t.png")


def test_an_escaped_angle_bracket_is_text() -> None:
    """DocFX and CommonMark write a placeholder as "\\<Unknown error code>": it is shown as
    written, not taken for a tag the sanitiser drops with its words (27 of 100 imported
    SupportArticles lost text this way); in code the backslash stays, a real tag still goes."""
    html = render_markdown(
        "Failure code: 0x800423f4 (\\<Unknown error code>) in \\<DnsDomainName>.\n\n"
        "`net use \\<drive>` and <script>alert(1)</script>\n"
    ).html
    assert "0x800423f4 (&lt;Unknown error code&gt;) in &lt;DnsDomainName&gt;." in html
    assert "<code>net use \\&lt;drive&gt;</code>" in html
    assert "<script" not in html and "alert" not in html


def test_a_checklist_is_marked_as_one_so_the_reader_draws_no_bullets() -> None:
    html = render_markdown("- [ ] one\n- [x] two\n\ntext\n\n- plain\n").html
    assert '<ul class="tasks">' in html  # its boxes are its markers ("• ☐" before)
    assert html.count("<ul") == 2 and "<ul>\n<li>plain" in html


@pytest.mark.parametrize("template", ["sop", "runbook", "post-incident", "onboarding"])
def test_a_new_document_shows_its_unfilled_parts_quietly(kb: Workspace, template: str) -> None:
    """A new SOP showed an empty checkbox, a runbook empty "1." items, a post-incident an
    empty code block with a Copy link: the reader and the preview leave them out and say
    "Not written yet" under a section with nothing written; the file keeps them."""
    saved = kb.create(template, "Rotate the VPN certificates")
    text = kb.full_path(saved.path).read_text(encoding="utf-8")
    html = kb.render(kb.load(saved.path)).html
    assert "\u2610" not in html and "<li></li>" not in html and "<code></code>" not in html
    assert "copy:" not in html
    assert html.count(UNWRITTEN) >= 3
    assert kb.full_path(saved.path).read_text(encoding="utf-8") == text  # unchanged on disk
    # ... and once a section is written, only the others still say so
    body = kb.load(saved.path).body
    first = body.index("\n## ")
    end = body.index("\n", first + 1)
    filled = body[: end + 1] + "\nWritten.\n" + body[end + 1 :]
    assert render_markdown(filled).html.count(UNWRITTEN) == html.count(UNWRITTEN) - 1


def test_scaffolds_go_but_lookalikes_stay() -> None:
    """Only an empty item after a blank line or another item and a fence closed on its next
    line go; a "-" under text underlines a heading, code keeps its lines, a filled box stays."""
    text = (
        "# Title\n\nHeading\n-\n\n- [ ] \n- [x] done\n\n1. \n2. Check\n\n"
        "```bash\n- \n1. \n```\n\n```\n```\n\n## Empty\n<!-- guidance -->\n\n## Last\n"
    )
    html = render_markdown(text).html
    assert '<h2 id="heading">Heading</h2>' in html
    assert "\u2611 </span>done</li>" in html and "<li>Check</li>" in html
    assert html.count("<li") == 2 and "\u2610" not in html
    assert html.count("<pre>") == 1 and "</span>\n<span" in html  # the code keeps "- " and "1. "
    assert html.count(f'<p class="unwritten">{UNWRITTEN}</p>') == 2  # "Empty" and "Last"
    # the extension on its own, as Python-Markdown runs it
    alone = markdown.markdown("## Empty\n\n- [ ] \n", extensions=[ScaffoldExtension()])
    assert alone == f'<h2>Empty</h2>\n<p class="unwritten">{UNWRITTEN}</p>'
