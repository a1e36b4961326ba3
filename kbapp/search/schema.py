"""The Whoosh schema of the search index, and how one document becomes its field values.

Field values are analysed here in one pass (:mod:`kbapp.search.analysis`) and handed to
Whoosh already split into terms, so a full build can do the analysis in worker processes and
the writer only files postings. Change the schema or the analysis → bump
:data:`SCHEMA_VERSION`; an index of another version is rebuilt on open.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import columns, fields, formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.system import emptybytes, pack_uint

from kbapp.documents import mdlines
from kbapp.errors import DocumentError
from kbapp.fsutil import read_document_bytes
from kbapp.search import whoosh_fixes  # noqa: F401  (applied on import)
from kbapp.search.analysis import (
    KbAnalyzer,
    analyse_text,
    declared_kb_numbers,
    index_terms,
    pair_hashes,
    plain_words,
    sequence_text,
)
from kbapp.search.markup import clean_markup
from kbapp.search.snippets import readable_text

if TYPE_CHECKING:
    from kbapp.documents import model as documents

SCHEMA_VERSION = 16
#: A per-document column (not indexed): the term sequences of all text fields, for phrases.
SEQUENCE_FIELD = "sequence"
#: Between two fields in the sequence column: not a term, so no phrase runs across it.
FIELD_BREAK = "\n"
#: A per-document column: the sorted 32-bit hashes of all pairs of neighbouring phrase terms.
PAIRS_FIELD = "pairs"
#: A per-document column (zlib): the text as a reader sees it, for the snippets of a hit (so
#: showing ten hits reads and cleans no file).
SNIPPET_FIELD = "snippet_text"

#: Text fields a plain word is looked up in, with their weight over the body (BM25F).
TEXT_FIELDS: dict[str, float] = {
    "title": 5.0,
    "labels": 3.0,  # tags, systems, incidents, id
    "headings": 2.0,
    "body": 1.0,
    "code": 0.8,
}
#: Filters a query may use (``type:sop``) and the index field each one reads.
FILTER_FIELDS: dict[str, str] = {
    "type": "type",
    "status": "status",
    "org": "owner_org",
    "owner_org": "owner_org",
    "tag": "tag",
    "tags": "tag",
    "system": "system",
    "systems": "system",
    "id": "doc_id",
    "sensitivity": "sensitivity",
    "incident": "incident",
}
FACET_FIELDS = {"type": "type", "owner_org": "owner_org", "tags": "tag", "systems": "system"}
#: The words a word being typed is completed from (:func:`prefix_words`): a typed prefix of
#: PREFIX_MIN letters or more finds the documents with a word there that starts with its first
#: PREFIX_MAX letters; one of up to PREFIX_GRAMS letters is a term of its own there (a short
#: prefix starts too many words to look each one up while typing).
PREFIX_FIELD = "prefix"
PREFIX_MIN, PREFIX_GRAMS, PREFIX_MAX = 2, 3, 16
#: Front matter keys whose text is searched with the headings (a document's summary).
SUMMARY_KEYS = ("description", "summary")
#: A stored field (not indexed): the document's summary from its front matter, embedded with
#: its title and opening text by the meaning re-ranker (:mod:`kbapp.search.semantic`).
SUMMARY_FIELD = "summary"


#: Posting storage: no zlib on blocks (most blocks hold a handful of postings and
#: compressing them cost more than writing them), terms with under 8 postings kept inline in
#: the term table instead of a block of their own.
CODEC = W3Codec(compression=0, inlinelimit=8)
#: Whoosh looks up the field length of every posting it writes, only to keep each term's
#: shortest and longest document for its own block-skipping scorer, which kbapp does not
#: use (its BM25F reads the length columns). Zero there only makes that estimate looser.
CODEC.length_stats = False


class TermCounts(formats.Existence):
    """Postings of a text field: a weight (the term's count in the field) and no value. Phrases
    are matched on the field's term sequence (:data:`SEQUENCE_FIELD`), so postings carry no
    positions: Whoosh decoded a pickled value per posting, and checking a phrase of two
    common words decoded thousands of them per query."""


class AnalyzedText(fields.FieldType):
    """Text analysed by :func:`~kbapp.search.analysis.index_terms`; the value may be the text or
    its terms already counted (``{term: count}``, by :func:`~kbapp.search.analysis.analyse_text`
    in a worker process) or with their positions (``{term: [positions]}``)."""

    def __init__(self, field_boost: float = 1.0, stored: bool = False) -> None:
        super().__init__(
            TermCounts(field_boost=field_boost), KbAnalyzer(), scorable=True, stored=stored
        )

    @staticmethod
    def counts(value: Any) -> Iterable[tuple[str, int]]:
        """(term, count) of each term of the value."""
        return AnalyzedText.count_map(value).items()

    @staticmethod
    def count_map(value: Any) -> dict[str, int]:
        """``{term: count}`` of the value. A ``Counter`` (what
        :func:`~kbapp.search.analysis.analyse_text` returns) is taken as it is: its values are
        counts by construction, and checking each one cost a tenth of the segment writer."""
        if type(value) is Counter:
            return value
        terms: dict[str, Any] = index_terms(value) if isinstance(value, str) else value
        if all(isinstance(found, int) for found in terms.values()):
            return dict(terms)
        return {term: len(found) for term, found in terms.items()}

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        boost = self.format.field_boost
        for term, count in self.counts(value):
            yield term.encode("utf-8"), count, count * boost, emptybytes


class WeightedWords(fields.FieldType):
    """Exact lowercase words with a weight each and no positions: the as-you-type prefixes,
    the spelling vocabulary, tags and systems. The value is ``{word: weight}`` or a list."""

    def __init__(self, stored: bool = False) -> None:
        super().__init__(formats.Frequency(), None, scorable=False, stored=stored)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        items = value.items() if isinstance(value, dict) else ((w, 1.0) for w in value)
        one = pack_uint(1)
        for word, weight in items:
            yield word.encode("utf-8"), 1, float(weight), one

    def process_text(self, qstring: str, mode: str = "", **kwargs: Any) -> Iterator[str]:
        yield qstring.lower()


class Exact(fields.FieldType):
    """One lowercase keyword (type, status, organisation), stored for the result list."""

    def __init__(self, stored: bool = True) -> None:
        super().__init__(formats.Existence(), None, scorable=False, stored=stored)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if value:
            yield str(value).lower().encode("utf-8"), 1, 1.0, emptybytes

    def process_text(self, qstring: str, mode: str = "", **kwargs: Any) -> Iterator[str]:
        yield qstring.lower()


def make_schema() -> fields.Schema:
    # Field weights are applied as query boosts (linear), not as posting weights, which BM25's
    # term-frequency saturation would mostly flatten.
    text = {name: AnalyzedText(stored=(name == "title")) for name in TEXT_FIELDS}
    return fields.Schema(
        path=fields.ID(stored=True, unique=True),
        doc_id=Exact(),
        type=Exact(),
        status=Exact(),
        owner_org=Exact(),
        sensitivity=Exact(stored=False),
        tag=WeightedWords(),
        system=WeightedWords(),
        incident=WeightedWords(),
        prefix=WeightedWords(),  # PREFIX_FIELD
        review=fields.STORED(),
        summary=fields.STORED(),  # SUMMARY_FIELD
        sequence=fields.COLUMN(columns.VarBytesColumn()),
        pairs=fields.COLUMN(columns.VarBytesColumn()),
        snippet_text=fields.COLUMN(columns.CompressedBytesColumn(level=1)),
        **text,
    )


@dataclass
class IndexedDocument:
    """What the index holds for one file: field values (analysed) and the content hash."""

    path: str
    digest: str
    fields: dict[str, Any] | None  # None: not a usable document (binary, not UTF-8...)
    #: Its words for the spelling vocabulary (kept outside the index): those of the texts
    #: it is indexed by (:func:`~kbapp.search.analysis.spelling_words`).
    words: list[str] = field(default_factory=list)


def split_code(body: str) -> tuple[str, str]:
    """(prose, code): fenced code blocks go to the code field, the rest is prose."""
    prose, code, _headings = split_body(body)
    return prose, code


def split_body(body: str) -> tuple[str, str, list[documents.Heading]]:
    """(prose, code, headings) of a body in one reading of its lines: fenced code blocks go
    to the code field, the rest is prose; the headings are ``Document.headings``'s."""
    prose, code, headings, _unfenced = _read_body(body)
    return prose, code, headings


def _read_body(body: str) -> tuple[str, str, list[documents.Heading], str]:
    """:func:`split_body`, and the body with its fence lines emptied
    (:func:`~kbapp.documents.mdlines.without_fences`, for the snippet text) from the same
    reading of its lines."""
    from kbapp.documents.model import heading_of

    if "```" not in body and "~~~" not in body:  # no fence: every line is text
        return body, "", _headings_of_text(body, heading_of), body
    prose: list[str] = []
    code: list[str] = []
    unfenced: list[str] = []
    headings: list[documents.Heading] = []
    for number, line, kind in mdlines.lines(body):
        if kind == "text":
            prose.append(line)
            unfenced.append(line)
            if "#" in line and (heading := heading_of(line, number)) is not None:
                headings.append(heading)
        elif kind == "code":
            code.append(line)
            unfenced.append(line)
        else:
            unfenced.append("")
    return "\n".join(prose), "\n".join(code), headings, "\n".join(unfenced)


def _headings_of_text(body: str, heading_of: Any) -> list[documents.Heading]:
    if "#" not in body:
        return []
    found = []
    for number, line in enumerate(body.split("\n"), start=1):
        if "#" in line and (heading := heading_of(line, number)) is not None:
            found.append(heading)
    return found


def prefix_words(weighted_texts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The words (lowercase, unstemmed, as :func:`~kbapp.search.analysis.plain_words`) of
    titles, file names, tags, systems and top-level headings and their first
    :data:`PREFIX_GRAMS` letters, each with the weight of the strongest field it came from.

    A word being typed finds the documents with a word that starts with it: a short prefix
    is one of these terms, a longer one is looked up as the words of this field that start
    with it (:meth:`kbapp.search.postings.TermSets.read`). That finds what every edge n-gram
    of these words (2-16 letters, the index's form until version 12) found, with the same
    weights, for a fifth fewer postings in a build."""
    out: dict[str, float] = {}
    for text, weight in weighted_texts:
        for word in plain_words(text):
            for form in (word[:PREFIX_MIN], word[:PREFIX_GRAMS], word):
                if out.get(form, 0.0) < weight:
                    out[form] = weight
    return out


def document_fields(doc: documents.Document, spelling: set[str] | None = None) -> dict[str, Any]:
    """Field values of a parsed document (analysed, ready for ``writer.add_document``).
    ``spelling``: a set that gets the words of its texts for the spelling vocabulary."""
    body = clean_markup(doc.body)
    prose, code, found, unfenced = _read_body(body)
    headings = [h.text for h in found]
    # a summary in the front matter ("description:", "summary:") says what the document is
    # about in other words than its title: searched with the headings' weight
    summaries = []
    for key in SUMMARY_KEYS:
        summary = doc.meta.get(key)
        if isinstance(summary, str) and summary.strip():
            summaries.append(clean_markup(summary.strip()[:1000]))
    headings.extend(summaries)
    top_headings = [h.text for h in found if h.level == 1]
    title = doc.title
    # a document's own KB number ("KB number: 327825") labels it, as its id does
    own_numbers = [f"KB{n}" for n in declared_kb_numbers(prose)]
    labels = " ".join([*doc.tags, *doc.systems, *doc.incidents, doc.id, *own_numbers])
    heading_text = "\n".join(headings)
    # each text analysed once: its term counts (postings) and its phrase terms (sequence, pairs)
    analysed = [analyse_text(t, spelling) for t in (title, labels, heading_text, prose, code)]
    sequences = [sequence_text(terms) for _counts, terms in analysed]
    pairs: set[int] = set().union(*(pair_hashes(terms) for _counts, terms in analysed))
    counts = [found for found, _terms in analysed]
    review = doc.review
    last = doc.last_reviewed
    return {
        "path": doc.path,
        "doc_id": doc.id,
        "type": doc.type,
        "status": doc.status,
        "owner_org": doc.owner_org,
        "sensitivity": doc.sensitivity,
        "tag": [t.lower() for t in doc.tags],
        "system": [s.lower() for s in doc.systems],
        "incident": [i.lower() for i in doc.incidents],
        "title": counts[0],
        "_stored_title": title,
        "labels": counts[1],
        "headings": counts[2],
        "body": counts[3],
        "code": counts[4],
        SEQUENCE_FIELD: FIELD_BREAK.join(sequences).encode("utf-8"),
        PAIRS_FIELD: array("I", sorted(pairs)).tobytes(),
        SNIPPET_FIELD: readable_text(doc.body, title, unfenced=unfenced).encode("utf-8"),
        PREFIX_FIELD: prefix_words(
            [
                (title + " " + doc.path.rsplit("/", 1)[-1].rsplit(".", 1)[0], 3.0),
                (" ".join([*doc.tags, *doc.systems, *top_headings]), 2.0),
            ]
        ),
        SUMMARY_FIELD: "\n".join(summaries) or None,
        "review": (
            last.isoformat() if last else None,
            doc.review_interval_days,
            str(review.get("reviewed_by") or ""),
            due.isoformat() if (due := doc.review_due) else None,
        ),
    }


def read_document(
    root: str | Path,
    relative: str,
    read_front: Callable[[Any], tuple[dict[str, Any], dict[str, int]]] | None = None,
) -> IndexedDocument:
    """Read and analyse one file (runs in worker processes during a full build).
    ``read_front``: what reads its front matter block (see :func:`kbapp.documents.model.parse`)."""
    from kbapp.documents import model as documents

    full = Path(root) / relative
    if not full.is_file():  # removed (or renamed away)
        return IndexedDocument(relative, "", None)
    try:
        data = read_document_bytes(full, relative)
    except (DocumentError, OSError):
        return IndexedDocument(relative, _digest_or_empty(full), None)
    digest = documents.content_hash(data)
    try:
        doc = documents.parse(data, relative, read_only=True, read_front=read_front)
    except DocumentError:
        return IndexedDocument(relative, digest, None)
    words: set[str] = set()
    fields_ = document_fields(doc, words)
    return IndexedDocument(relative, digest, fields_, list(words))


def _digest_or_empty(full: Path) -> str:
    from kbapp.documents import model as documents

    try:
        return documents.content_hash(full.read_bytes())
    except OSError:
        return ""
