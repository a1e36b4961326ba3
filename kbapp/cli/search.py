"""Commands on the search index: ``kbapp search`` and ``kbapp index``.

``kbapp search`` covers the knowledge base given and those searched together with it
(``kbapp settings also_search --add PATH``); ``--only-this`` limits it to the one given."""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path

from kbapp.cli.common import Context, Progress, print_json
from kbapp.errors import KbError
from kbapp.search import SearchIndex, SearchResponse, search_all

_TAG_RE = re.compile(r"<[^>]+>")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search the knowledge base",
        description=(
            'Words (all of them first, then some), "quoted phrases", -excluded words, filters '
            "type:sop tag:failover system:payments-db org:partner status:draft id:kb-..., "
            "retired documents only with status:retired. Typos are forgiven."
        ),
    )
    p.add_argument("query", nargs="?", help="what to look for (quote it in the shell)")
    p.add_argument("--limit", "-n", type=int, default=20, help="how many results (default 20)")
    p.add_argument(
        "--json", action="store_true", help="print results, facets and suggestion as JSON"
    )
    p.add_argument(
        "--batch",
        metavar="FILE",
        help="answer one query per line of FILE ('-': standard input); with --json, "
        "one JSON object per line",
    )
    p.add_argument(
        "--only-this",
        action="store_true",
        help="search only this knowledge base, not those searched together with it "
        "(setting also_search)",
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("index", help="bring the search index up to date (or --rebuild it)")
    p.add_argument("--rebuild", action="store_true", help="index every document afresh")
    p.set_defaults(func=cmd_index)


def _index(ctx: Context) -> SearchIndex:
    index = SearchIndex.for_workspace(ctx.reading_workspace)
    progress = Progress("Indexing", enabled=None if not ctx.args.quiet else False)
    index.catch_up(progress=progress, wait=False)
    progress.finish()
    return index


class Indexes:
    """The indexes one ``kbapp search`` asks: this knowledge base's, then the others'."""

    def __init__(self, ctx: Context, only_this: bool) -> None:
        self.indexes = [_index(ctx)]
        self.skipped: list[tuple[str, str]] = []
        if only_this or not ctx.settings.also_search:
            return
        others = ctx.other_kbs()
        self.skipped = list(others.skipped)
        for ws in others.workspaces:
            try:
                index = SearchIndex.for_workspace(ws)
                progress = Progress(
                    f"Indexing {ws.config.name}", enabled=None if not ctx.args.quiet else False
                )
                index.catch_up(progress=progress, wait=False)
                progress.finish()
            except (KbError, OSError) as exc:
                self.skipped.append((str(ws.root), str(exc)))
                ctx.warn(f"Not searching {ws.root}: {exc}")
                continue
            self.indexes.append(index)

    @property
    def several(self) -> bool:
        return len(self.indexes) > 1

    def search(self, query: str, limit: int, snippets: int, facets: bool = True) -> SearchResponse:
        if not self.several:
            return self.indexes[0].search(query, limit, snippets=snippets, facets=facets)
        return search_all(self.indexes, query, limit, snippets=snippets)

    def knowledge_bases(self) -> list[dict[str, str]]:
        return [
            {"name": index.ws.config.name, "path": str(index.ws.root)} for index in self.indexes
        ]


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    if args.limit < 1:
        raise KbError("--limit must be 1 or more")
    if args.batch is None and not args.query:
        raise KbError("give a query, or --batch FILE")
    if args.batch is not None and args.query:
        raise KbError("give either a query or --batch FILE, not both")
    searcher = Indexes(ctx, args.only_this)
    if args.batch is not None:
        return _batch(searcher, args)
    # the printed list shows no facet counts: only --json asks for them
    response = searcher.search(args.query, args.limit, snippets=args.limit, facets=args.json)
    if args.json:
        print_json(
            {
                **response.to_dict(),
                "knowledge_bases": searcher.knowledge_bases(),
                "skipped": [{"path": p, "reason": why} for p, why in searcher.skipped],
            }
        )
        return 0
    _print_response(response, ctx, searcher.several)
    return 0


def _batch(index: Indexes, args: argparse.Namespace) -> int:
    if args.batch == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(args.batch).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise KbError(f"cannot read {args.batch}: {exc}") from None
    for line in lines:
        query = line.strip()
        if not query or query.startswith("#"):
            continue
        # a batch query is complete: a trailing space stops "last word as prefix"
        response = index.search(query + " ", args.limit, snippets=min(args.limit, 10))
        data = {"query": query, **response.to_dict()}
        if args.json:
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            print(
                f"{query}\t{response.total}\t{response.elapsed_ms:.1f} ms\t"
                + " ".join(hit.id for hit in response.hits)
            )
    sys.stdout.flush()
    return 0


def _print_response(response: SearchResponse, ctx: Context, several: bool) -> None:
    if response.indexing:
        # on stdout, with the results: a user who sees no result must learn why
        print(f"The search index is {response.indexing_note()}.")
    if response.suggestion:
        print(f"Did you mean: {response.suggestion}")
    if note := response.some_words_note():
        print(note)
    if not response.hits:
        print("No documents found so far." if response.indexing else "No documents found.")
        return
    for hit in response.hits:
        review = "" if hit.review_state in ("ok", "") else f"  [{hit.review_state}]"
        print(f"{hit.id}  {hit.title}  ({hit.type}, {hit.status}, {hit.owner_org or '-'}){review}")
        print(f"    {hit.path}  (in {hit.kb}, {hit.kb_path})" if several else f"    {hit.path}")
        for snippet in hit.snippets:
            text = _TAG_RE.sub("", snippet.replace('<b class="match">', "[").replace("</b>", "]"))
            print(f"    {_unescape(text)}")
    shown = len(response.hits)
    more = f", {response.total - shown} more (--limit)" if response.total > shown else ""
    ctx.info(f"{response.total} found in {response.elapsed_ms:.0f} ms{more}")


def _unescape(text: str) -> str:
    return html.unescape(text)


def cmd_index(args: argparse.Namespace, ctx: Context) -> int:
    index = SearchIndex.for_workspace(ctx.workspace)
    progress = Progress("Indexing", enabled=None if not args.quiet else False)
    if args.rebuild:
        count = index.rebuild(progress=progress)
        progress.finish()
        print(f"Indexed {count} documents.")
        return 0
    count = index.catch_up(progress=progress)
    progress.finish()
    print(f"Indexed {count} changed documents." if count else "The search index is up to date.")
    return 0
