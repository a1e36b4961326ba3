"""Secret scanning: keys, passwords and tokens must never reach a commit.

Two sources of rules, run over a file's whole text:

- kbapp's own rules for what runbooks leak in practice: private key blocks, passwords in
  connection strings and ``KEY=value`` lines, cloud and API tokens with well-known prefixes,
  ``Authorization: Bearer/Basic`` headers;
- the detectors of `detect-secrets <https://github.com/Yelp/detect-secrets>`_ (AWS, Azure,
  GitHub, GitLab, Slack, Stripe, JWT, quoted ``password = "..."`` assignments, ...), used
  directly as plugin objects (no global settings, no network verification).

Each detector's regular expressions first run over the whole text (fast: most documents have
no hit at all); only lines that match are then checked in full, so a 50k-document import stays
quick and a 10 MB line cannot make a scan slow.

A reviewed false positive is allowed by ``kbapp:allow-secret`` on the same line or on the line
before (e.g. ``<!-- kbapp:allow-secret -->``), or by the ``[secrets]`` table of
``.kb/config.toml``::

    [secrets]
    allow = ["AKIAIOSFODNN7EXAMPLE", "sha256:9f86d0..."]  # values (or their SHA-256) to accept
    allow_paths = ["training/**"]                        # files that are not scanned
    disable = ["detect-secrets:TwilioKeyDetector"]       # rules that are switched off
    entropy = false                                      # also flag random-looking strings
    inline_allow = true                                  # honour kbapp:allow-secret markers
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kbapp.config import path_matches
from kbapp.trust.secret_decoding import _canonical, decode_for_scan
from kbapp.trust.secret_detectors import _confirm, _plugins
from kbapp.trust.secret_rules import (
    _INLINE_BODY_RE,
    _KEY_BODY_RE,
    _KEY_END_RE,
    _NEXT_LINE_KEYS,
    _NEXT_LINE_RE,
    _PRIVATE_KEY_RE,
    _RULES,
)
from kbapp.trust.secret_values import (
    _looks_like_passphrase,
    _looks_like_placeholder,
    _looks_strong,
    _preview,
)

if TYPE_CHECKING:
    from kbapp.config import KbConfig

__all__ = [
    "ALLOW_MARKER",
    "SecretHit",
    "SecretsPolicy",
    "decode_for_scan",
    "hits_for_config",
    "scan_text",
    "value_digest",
]

#: The inline marker that accepts a reviewed false positive (same line or the line before).
ALLOW_MARKER = "kbapp:allow-secret"
_ALLOW_RE = re.compile(r"kbapp:allow-secret|pragma: allowlist secret", re.I)

#: Lines longer than this are checked in windows around each candidate match.
_WINDOW = 4096


@dataclass(frozen=True)
class SecretHit:
    """One line that looks like it holds a secret."""

    path: str
    line: int  # 1-based
    rule: str  # e.g. "private-key", "detect-secrets:AWSKeyDetector"
    description: str  # what was found, in words
    preview: str  # the secret shortened to its first characters, never the whole value
    #: ``sha256:<hex>`` of the value: what ``[secrets] allow`` takes to accept a reviewed false
    #: positive without writing the value itself into the configuration.
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.description} ({self.preview}) [{self.rule}]"


@dataclass
class SecretsPolicy:
    """The ``[secrets]`` table of ``.kb/config.toml``."""

    allow: list[str] = field(default_factory=list)
    allow_paths: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    entropy: bool = False
    inline_allow: bool = True

    @classmethod
    def from_config(cls, config: KbConfig | None) -> SecretsPolicy:
        if config is None:
            return cls()
        raw = config.section("secrets")

        def strings(key: str) -> list[str]:
            value = raw.get(key, [])
            return [str(v) for v in value] if isinstance(value, list) else [str(value)]

        return cls(
            allow=strings("allow"),
            allow_paths=strings("allow_paths"),
            disable=strings("disable"),
            entropy=bool(raw.get("entropy", False)),
            inline_allow=bool(raw.get("inline_allow", True)),
        )

    def skips_path(self, path: str) -> bool:
        return path_matches(path, self.allow_paths)  # gitignore's rules, as all of config.toml

    def allows_value(self, value: str) -> bool:
        if not self.allow:
            return False
        digest = value_digest(value)
        return any(entry == digest or (entry and entry in value) for entry in self.allow)


def value_digest(value: str) -> str:
    """How ``[secrets] allow`` names a value without holding it: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- scanning


class _Text:
    """A text with its lines numbered on first use, and where trigger literals occur."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._starts: list[int] | None = None
        self._chunks: dict[tuple[str, ...], list[tuple[int, str]]] = {}

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        return self._starts

    def number(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def line(self, number: int) -> str:
        start = self.starts[number - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end != -1 else len(self.text)]

    def chunks(self, triggers: tuple[str, ...]) -> list[tuple[int, str]]:
        """(line number, text) of every line holding one of ``triggers``; a long line gives
        windows around its occurrences instead of its whole text."""
        if triggers in self._chunks:
            return self._chunks[triggers]
        offsets: list[int] = []
        for trigger in triggers:
            haystack = self.lower if trigger == trigger.lower() else self.text
            find = haystack.find
            pos = find(trigger)
            while pos != -1:
                offsets.append(pos)
                pos = find(trigger, pos + 1)
        out: list[tuple[int, str]] = []
        covered = -1  # offset up to which the text has been handed out already
        for pos in sorted(set(offsets)):
            if pos < covered:
                continue
            number = self.number(pos)
            start = self.starts[number - 1]
            end = self.text.find("\n", pos)
            end = len(self.text) if end == -1 else end
            if end - start > _WINDOW:  # a long line: a window around this occurrence
                start = max(start, pos - _WINDOW // 2)
                end = min(end, pos + _WINDOW // 2)
            out.append((number, self.text[start:end]))
            covered = end
        self._chunks[triggers] = out
        return out

    def chunks_for_patterns(self, patterns: list[re.Pattern[str]]) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        covered = -1
        for pattern in patterns:
            for match in pattern.finditer(self.text):
                if match.start() < covered:
                    continue
                number = self.number(match.start())
                start = self.starts[number - 1]
                end = self.text.find("\n", match.start())
                end = len(self.text) if end == -1 else end
                if end - start > _WINDOW:
                    start = max(start, match.start() - _WINDOW // 2)
                    end = min(end, match.end() + _WINDOW // 2)
                out.append((number, self.text[start:end]))
                covered = end
            covered = -1
        return out


def scan_text(
    text: str,
    path: str,
    policy: SecretsPolicy | None = None,
    lines: Iterable[int] | None = None,
) -> list[SecretHit]:
    """Every line of ``text`` that looks like it holds a secret, in line order (one hit per
    line, kbapp's own rules first since they say more precisely what they found).

    ``lines`` limits the hits to those line numbers (the lines a commit added); the whole text
    is still read so that a multi-line private key is recognised."""
    policy = policy or SecretsPolicy()
    if policy.skips_path(path):
        return []
    wanted = set(lines) if lines is not None else None
    if wanted is not None and not wanted:
        return []
    index = _Text(_canonical(text))
    hits: dict[int, SecretHit] = {}
    disabled = set(policy.disable)

    def add(number: int, rule: str, description: str, value: str, last: int = 0) -> None:
        # A secret over several lines (a private key: header, body, end) counts as added when
        # any of its lines is: a commit that fills a key's body in under an old header adds it.
        span = range(number, max(number, last) + 1)
        if number in hits or (wanted is not None and wanted.isdisjoint(span)):
            return
        if rule in disabled or rule.split(":")[0] in disabled:
            return
        if policy.allows_value(value) or _looks_like_placeholder(value):
            return
        if policy.inline_allow and _allowed_inline(index, number):
            return
        hits[number] = SecretHit(
            path, number, rule, description, _preview(value), value_digest(value)
        )

    if "private key" in index.lower or "putty-user-key" in index.lower:
        for number, value, last in _private_keys(index):
            add(number, "private-key", "private key", value, last)
    for number, value in _next_line_values(index):
        add(number, "password-assignment", "password or secret on the line below its key", value)
    for rule in _RULES:
        for number, chunk in index.chunks(rule.triggers):
            for match in rule.pattern.finditer(chunk):
                value = match.group(rule.group)
                if rule.needs_strength and not _looks_strong(value):
                    continue
                add(number, rule.name, rule.description, value)
    for plugin in _plugins(policy.entropy):
        rule_name = f"detect-secrets:{plugin.name}"
        if rule_name in disabled:
            continue
        chunks = (
            index.chunks(plugin.triggers)
            if plugin.triggers
            else index.chunks_for_patterns(plugin.patterns)
        )
        for number, chunk in chunks:
            if number in hits or (wanted is not None and number not in wanted):
                continue
            if plugin.requires and not any(r in chunk for r in plugin.requires):
                continue
            for value in _confirm(plugin, path, chunk, number):
                add(number, rule_name, plugin.description, value)
    return [hits[number] for number in sorted(hits)]


#: How far a key's body may run below its header (a 16384-bit RSA key in PEM is ~220 lines).
_KEY_SPAN = 400


def _private_keys(index: _Text) -> Iterator[tuple[int, str, int]]:
    """Private key blocks with a body (a header alone is an illustration, not a key): the
    header's line, the header, and the last line of the block (its END line, or the last line
    a key body could be on)."""
    total = len(index.starts)
    for match in _PRIVATE_KEY_RE.finditer(index.text):
        number = index.number(match.start())
        last = _key_end(index, number, min(number + _KEY_SPAN, total))
        if match.group(0).startswith("PuTTY"):
            yield number, match.group(0), last
            continue
        if _INLINE_BODY_RE.match(index.text, match.end(), match.end() + _WINDOW):
            yield number, match.group(0), number
            continue
        for following in range(number + 1, min(number + 10, total + 1)):
            line = index.line(following)[:_WINDOW].strip()
            if not line or line.startswith(("```", "~~~")) or ":" in line[:40]:
                continue  # blank, a code fence, Proc-Type:/DEK-Info:/Version:/Comment: headers
            if _KEY_BODY_RE.match(line):
                yield number, match.group(0), last
            break


def _key_end(index: _Text, number: int, limit: int) -> int:
    """The line that ends the key block starting at ``number``: its END line, else the last
    line that still reads as part of a key (body, blank, ``Name: value`` headers)."""
    last = number
    for following in range(number + 1, limit + 1):
        line = index.line(following)[:_WINDOW]
        if _KEY_END_RE.search(line):
            return following
        stripped = line.strip()
        if stripped and not _KEY_BODY_RE.match(stripped) and ":" not in stripped[:40]:
            break
        last = following
    return last


def _next_line_values(index: _Text) -> Iterator[tuple[int, str]]:
    """YAML keys whose value is on the next, more indented line (``password:`` then the value,
    or a ``|``/``>`` block)."""
    if not any(key in index.lower for key in _NEXT_LINE_KEYS):
        return
    for match in _NEXT_LINE_RE.finditer(index.text):
        if len(match.group(2).expandtabs()) <= len(match.group(1).expandtabs()):
            continue  # not indented below the key: the next key, not its value
        value = match.group(3).strip().strip("'\"")
        if " " in value and not _looks_like_passphrase(value.replace(" ", "-")):
            continue  # prose, not a value
        if _looks_strong(value.replace(" ", "-")):
            yield index.number(match.start(3)), value


def _allowed_inline(index: _Text, number: int) -> bool:
    if _ALLOW_RE.search(index.line(number)[: _WINDOW * 4]):
        return True
    return number > 1 and bool(_ALLOW_RE.search(index.line(number - 1)[: _WINDOW * 4]))


def hits_for_config(text: str, path: str, config: KbConfig | None) -> list[SecretHit]:
    """:func:`scan_text` with the knowledge base's ``[secrets]`` settings."""
    return scan_text(text, path, SecretsPolicy.from_config(config))
