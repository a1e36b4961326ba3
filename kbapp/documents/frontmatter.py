"""Front matter: find it, read it fast, and write changes back without disturbing the rest.

Reading uses PyYAML's libyaml loader (about 20x faster than a round-trip parser, which matters
when the catalog reads 50k files). Writing applies only the *changes* between what was read and
what the document holds now to a ruamel.yaml round-trip tree of the original text, so comments,
key order, quoting and unknown keys survive an edit; an unchanged block is written back
byte for byte by the caller.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from kbapp.documents import schema

try:  # libyaml is in every PyYAML wheel; the pure-Python loader is a slow but correct fallback
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: Front matter larger than this is refused (a document's metadata is a few hundred bytes).
MAX_FRONT_MATTER_CHARS = 256 * 1024

_OPEN_RE = re.compile(r"\A(---|\+\+\+)[ \t]*(\r?\n)")


class FrontMatterError(ValueError):
    """Unreadable front matter; ``line`` is 1-based within the whole file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Block:
    """Where the front matter sits in a file's text."""

    fence: str  # "---" (YAML) or "+++" (TOML)
    text: str  # the block's content, between the fences, exactly as in the file
    raw: str  # the whole block, fences and final newline included
    end: int  # offset of the first character after the block


def find_block(text: str) -> Block | None:
    """Locate a front matter block at the very start of ``text`` (BOM already removed)."""
    opening = _OPEN_RE.match(text)
    if not opening:
        return None
    fence = opening.group(1)
    closers = ("---", "...") if fence == "---" else ("+++",)
    pos = opening.end()
    while pos <= len(text):
        nl = text.find("\n", pos)
        line_end = len(text) if nl == -1 else nl + 1
        line = text[pos:line_end].rstrip("\r\n").rstrip(" \t")
        if line in closers:
            return Block(fence, text[opening.end() : pos], text[:line_end], line_end)
        if nl == -1:
            return None
        pos = line_end
    return None


def parse_block(block: Block) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse a block into a plain dict and a map from dotted field name to 1-based file line."""
    if len(block.text) > MAX_FRONT_MATTER_CHARS:
        raise FrontMatterError(
            f"front matter is {len(block.text) // 1024} KB; more than "
            f"{MAX_FRONT_MATTER_CHARS // 1024} KB is not accepted",
            line=1,
        )
    if block.fence == "+++":
        try:
            data = tomllib.loads(block.text)
        except tomllib.TOMLDecodeError as exc:
            raise FrontMatterError(f"TOML front matter cannot be read: {exc}", line=1) from None
        check_ranges(data, {})
        return data, {}
    return parse_yaml(block.text, first_line=2)


def parse_yaml(text: str, first_line: int = 1) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse YAML front matter text; ``first_line`` is the file line of the text's first line."""
    if ("*" in text) and _has_alias(text):
        # Aliases let a few hundred bytes expand into gigabytes (billion laughs) when anything
        # walks the data; front matter never needs them.
        raise FrontMatterError("YAML aliases (*name) are not allowed in front matter", line=1)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if _depth(node) > MAX_DEPTH:
            raise FrontMatterError(
                f"front matter is nested more than {MAX_DEPTH} levels deep", line=first_line
            )
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrontMatterError(f"front matter is not valid YAML: {problem}", line) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date 2026-02-30
        raise FrontMatterError(f"front matter has an unreadable value: {exc}", line=None) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise FrontMatterError(
            "front matter must be a set of 'key: value' lines, not a "
            + ("list" if isinstance(data, list) else "single value"),
            line=first_line,
        )
    lines: dict[str, int] = {}
    _collect_lines(node, "", first_line, lines)
    check_ranges(data, lines)
    return {str(k): v for k, v in data.items()}, lines


#: Integers a front matter value may hold: what SQLite, JSON consumers and date arithmetic
#: can take (a signed 64-bit integer). Bigger ones make the document's front matter unreadable
#: (reported by lint, refused by the hook) instead of failing every command later.
INT_RANGE = (-(2**63), 2**63 - 1)


def check_ranges(data: Any, lines: dict[str, int], prefix: str = "") -> None:
    """Refuse values no consumer can store or compute with (the schema boundary: every reader
    of front matter gets values that fit, so no insert or computation needs its own guard)."""
    stack: list[tuple[str, Any]] = [(prefix, data)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            shown = str(value) if len(str(value)) <= 30 else str(value)[:27] + "..."
            raise FrontMatterError(
                f"{name or 'value'}: {shown} is out of range (a number here must lie between "
                f"{INT_RANGE[0]} and {INT_RANGE[1]})",
                line=lines.get(name) or _nearest_line(name, lines),
            )
        if isinstance(value, dict):
            stack.extend((f"{name}.{k}" if name else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{name}[{i}]", v) for i, v in enumerate(value))


def _nearest_line(name: str, lines: dict[str, int]) -> int | None:
    while name:
        cut = max(name.rfind("."), name.rfind("["))
        name = name[:cut] if cut > 0 else ""
        if name in lines:
            return lines[name]
    return None


#: Deeper front matter is refused: constructing and copying it would exhaust the stack.
MAX_DEPTH = 32


def _depth(root: yaml.Node) -> int:
    """How deeply ``root`` nests (iteratively: the input may be hostile)."""
    deepest = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((value, depth + 1) for _key, value in node.value)
    return deepest


def _has_alias(text: str) -> bool:
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                return True
    except yaml.YAMLError:
        return False  # the real parse reports the syntax error with its line
    return False


def _collect_lines(node: yaml.Node, prefix: str, first_line: int, out: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        name = f"{prefix}{key.value}"
        out.setdefault(name, first_line + key.start_mark.line)
        if isinstance(value, yaml.MappingNode) and prefix.count(".") < 3:
            _collect_lines(value, name + ".", first_line, out)
        elif isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                out.setdefault(f"{name}[{index}]", first_line + item.start_mark.line)


# --------------------------------------------------------------------------- writing


def _round_trip_yaml(mapping: int = 2, sequence: int = 4, offset: int = 2) -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.allow_duplicate_keys = True
    rt.width = 4096  # never fold a long title or description onto two lines
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    return rt


def dump_new(meta: dict[str, Any], newline: str = "\n") -> str:
    """Front matter text (without fences) for a document that had none, in canonical order."""
    tree = CommentedMap()
    for key in sorted(meta, key=schema.rank):
        tree[_key(key)] = _to_tree(meta[key])
    return _dump(_round_trip_yaml(), tree, newline)


def patch(original_text: str, old: dict[str, Any], new: dict[str, Any], newline: str) -> str:
    """Apply the differences between ``old`` and ``new`` to ``original_text`` (YAML).

    Keys and values that did not change keep their exact spelling, comments and order. When
    the change only adds top-level keys (an import, a first save) their lines are inserted into
    the text directly, which is exact and 30x faster than a round-trip parse.
    """
    added = {k: v for k, v in new.items() if k not in old}
    if all(k in new and _same(v, new[k]) for k, v in old.items()) and added:
        inserted = _insert_keys(original_text, added, newline)
        if inserted is not None:
            return inserted
    mapping, offset = _guess_indent(original_text)
    rt = _round_trip_yaml(mapping=mapping, sequence=max(mapping, offset + 2), offset=offset)
    tree = rt.load(original_text)
    if tree is None:
        tree = CommentedMap()
    _apply(tree, old, new)
    return _dump(rt, tree, newline)


_TOP_KEY_RE = re.compile(r"^(?![-#\s%]|\.\.\.|---)([^:\n]+?)\s*:(?:\s|$)")
_NESTED_KEY_RE = re.compile(r"^( +)[^\s#-][^:\n]*:(?:\s|$)", re.M)
_SEQ_ITEM_RE = re.compile(r":[ \t]*\r?\n( *)- ")


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the file writes them."""
    nested = _NESTED_KEY_RE.search(text)
    seq = _SEQ_ITEM_RE.search(text)
    return (len(nested.group(1)) if nested else 2), (len(seq.group(1)) if seq else 2)


def _insert_keys(text: str, added: dict[str, Any], newline: str) -> str | None:
    """Insert new top-level keys as text, each after the known key it follows in canonical
    order (else at the top). None when the text's layout is not simple enough to be sure."""
    lines = text.splitlines(keepends=True)
    starts: list[tuple[int, str]] = []  # (line index, key) of each top-level key
    for index, line in enumerate(lines):
        if line[:1] in (" ", "\t", "#", "-", "\r", "\n", "") or line.startswith("? "):
            continue
        match = _TOP_KEY_RE.match(line)
        if not match:
            return None  # a flow mapping, a multi-line key...: let ruamel handle it
        starts.append((index, match.group(1).strip().strip("'\"")))
    _, offset = _guess_indent(text) if "\n- " not in "\n" + text else (2, 0)
    segments: dict[int, list[str]] = {}
    for key in sorted(added, key=schema.rank):
        rank = schema.rank(key)
        after = -1  # line index after which to insert; -1 = the very top
        if rank < len(schema.ORDER):
            for number, (_index, existing) in enumerate(starts):
                if schema.rank(existing) < rank:
                    end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
                    after = end - 1
        else:
            after = len(lines) - 1
        segments.setdefault(after, []).append(_emit(key, added[key], offset, newline))
    out: list[str] = list(segments.get(-1, []))
    for index, line in enumerate(lines):
        if index == len(lines) - 1 and not line.endswith("\n") and index in segments:
            line += newline
        out.append(line)
        out.extend(segments.get(index, []))
    return "".join(out)


def _emit(key: str, value: Any, offset: int, newline: str) -> str:
    """YAML text for one key, in kbapp's layout (lists one item per line)."""
    text = yaml.dump(
        {key: value},
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
    )
    if offset and isinstance(value, (list, tuple)) and value:
        # PyYAML writes the list's items at the key's column; shift the whole value so that it
        # matches the file's "  - item" layout (nested content moves with its item).
        first, _, rest = text.partition("\n")
        text = first + "\n" + re.sub(r"^(?=.)", " " * offset, rest, flags=re.M)
    return text.replace("\n", newline)


def _apply(tree: CommentedMap, old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in [k for k in old if k not in new]:
        if key in tree:
            del tree[key]
    for key, value in new.items():
        if key in old and _same(old[key], value):
            continue
        if isinstance(value, dict) and isinstance(tree.get(key), CommentedMap):
            before = old.get(key)
            _apply(tree[key], before if isinstance(before, dict) else {}, value)
        elif key in tree:
            tree[key] = _to_tree(value)
        else:
            tree.insert(_insert_position(tree, key), _key(key), _to_tree(value))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _insert_position(tree: CommentedMap, key: str) -> int:
    rank = schema.rank(key)
    if rank == len(schema.ORDER):
        return len(tree)
    position = 0
    for index, existing in enumerate(tree):
        if schema.rank(str(existing)) < rank:
            position = index + 1
    return position


_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
#: Line breaks YAML knows besides \n, control characters, the BOM and other non-characters.
_ODD_CHARS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _key(key: Any) -> Any:
    return _quoted_if_needed(key) if isinstance(key, str) else key


def _quoted_if_needed(text: str) -> Any:
    """``text`` quoted when the reader (YAML 1.1: on, yes, 1e3, 2026-01-01...) would otherwise
    take it for something other than a string; ruamel writes YAML 1.2 and leaves those bare."""
    if _ODD_CHARS_RE.search(text):  # written escaped, or the readers would fold them
        return DoubleQuotedScalarString(text)
    if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) != _STR_TAG:
        return SingleQuotedScalarString(text)
    return text


def _to_tree(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[_key(key)] = _to_tree(item)
        return out
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_to_tree(item) for item in value)
        return seq
    if isinstance(value, str) and not isinstance(
        value, (SingleQuotedScalarString, DoubleQuotedScalarString)
    ):
        return _quoted_if_needed(value)
    return value


def _dump(rt: YAML, tree: Any, newline: str) -> str:
    buffer = io.StringIO()
    rt.dump(tree, buffer)
    text = buffer.getvalue()
    if text.strip() in ("{}", ""):
        text = ""
    return text.replace("\r\n", "\n").replace("\n", newline)


def plain(value: Any) -> Any:
    """JSON-friendly copy of front matter data (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
