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
import codecs
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kbapp.config import path_matches

if TYPE_CHECKING:
    from kbapp.config import KbConfig

#: The inline marker that accepts a reviewed false positive (same line or the line before).
ALLOW_MARKER = "kbapp:allow-secret"
_ALLOW_RE = re.compile(r"kbapp:allow-secret|pragma: allowlist secret", re.I)

#: Lines longer than this are checked in windows around each candidate match.
_WINDOW = 4096

_PLACEHOLDER_WORDS = {
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "changeme",
    "redacted",
    "example",
    "placeholder",
    "yourpassword",
    "your-password",
    "your_password",
    "mypassword",
    "none",
    "null",
    "true",
    "false",
    "required",
    "optional",
    "string",
    "value",
    "xxxxxx",
}


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


# --------------------------------------------------------------------------- kbapp's own rules


@dataclass(frozen=True)
class _Rule:
    name: str
    description: str
    pattern: re.Pattern[str]
    #: Literal strings one of which a line must hold before the pattern is tried: lower-case
    #: ones are looked for in the lower-cased text, the others as written.
    triggers: tuple[str, ...]
    group: int = 0  # the group holding the secret value
    needs_strength: bool = False  # value must look like a real password, not a word


#: Words that name a password, in English and in the other languages runbooks are written
#: in: (regular expression, literals one of which a line holding it contains, whether the
#: generic "password or secret" rule below already covers it). The one table the table-row
#: and the plain-text rules are built from.
_PASSWORD_WORDS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("password", ("pass",), True),
    ("passwd", ("pass",), True),
    ("pwd", ("pwd",), True),
    ("passphrase", ("pass",), False),
    ("pass", ("pass",), False),
    ("passwort", ("pass",), False),
    ("kennwort", ("kennwort",), False),
    ("mot[ _-]de[ _-]passe", ("passe",), False),
    ("contrase[nñ]a", ("contrase",), False),
    ("senha", ("senha",), False),
    ("wachtwoord", ("wachtwoord",), False),
    ("has[lł]o", ("haslo", "hasło"), False),
    ("parola", ("parola",), False),
    ("salasana", ("salasana",), False),
    ("l[oö]senord", ("senord",), False),
    ("adgangskode", ("adgangskode",), False),
    ("passord", ("pass",), False),
    ("lozinka", ("lozinka",), False),
)


def _words(*, generic: bool = True) -> str:
    """The password words as one alternation (``generic=False``: those only the specific
    rule looks for)."""
    return "|".join(word for word, _, covered in _PASSWORD_WORDS if generic or not covered)


def _word_triggers(*, generic: bool = True) -> tuple[str, ...]:
    found = (
        t for _, triggers, covered in _PASSWORD_WORDS if generic or not covered for t in triggers
    )
    return tuple(dict.fromkeys(found))


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "connection-string-password",
        "password in a connection URL",
        re.compile(
            r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@'\"<>]{1,100}:([^\s@/'\"<>]{3,200})@[\w.\[-]"
        ),
        ("@",),
        1,
    ),
    _Rule(
        "connection-string-password",
        "password in a connection string",
        re.compile(
            r"(?i)(?:server|host|data source|user id|uid|username|database|initial catalog)"
            r"\s*=[^;\n]{0,200};[^\n]{0,400}?\b(?:password|pwd)\s*=\s*([^;'\"\s]{3,200})"
        ),
        ("password", "pwd"),
        1,
    ),
    _Rule(
        "connection-string-password",
        "password in a URL query",
        re.compile(r"(?i)[?&](?:password|passwd|pwd)=([^&\s'\"#<>]{3,200})"),
        ("password=", "pwd=", "passwd="),
        1,
    ),
    _Rule(
        "bearer-token",
        "bearer token in an Authorization header",
        re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)"),
        ("bearer",),
        1,
    ),
    _Rule(
        "basic-auth-header",
        "credentials in an Authorization: Basic header",
        re.compile(r"(?i)\bauthorization[\"']?\s*:\s*[\"']?basic[ \t]+([A-Za-z0-9+/]{8,}={0,2})"),
        ("basic",),
        1,
    ),
    _Rule(
        "cloud-token",
        "Google API key",
        re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])"),
        ("AIza",),
    ),
    _Rule(
        "cloud-token",
        "AWS secret access key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        ("aws",),
        1,
    ),
    _Rule(
        "cloud-token",
        "Azure shared access signature",
        re.compile(r"[?&]sig=([A-Za-z0-9%+/]{30,}={0,2})"),
        ("sig=",),
        1,
    ),
    _Rule(
        "cloud-token",
        "HashiCorp Vault token",
        re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}"),
        ("hvs.", "hvb.", "hvr."),
    ),
    _Rule(
        "api-token",
        "GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Rule(
        "api-token",
        "GitLab token",
        re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),
        ("glpat-",),
    ),
    _Rule(
        "api-token",
        "Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
        ("hooks.slack.com",),
    ),
    _Rule(
        "api-token",
        "API key with a live-key prefix",
        re.compile(r"\b(?:sk|rk)_live_[0-9a-zA-Z]{16,}|\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"),
        ("_live_", "sk-"),
    ),
    _Rule(
        "command-line-password",
        "password glued to a MySQL/MariaDB client's -p option",
        re.compile(
            r"(?i)\b(?:mysql|mariadb|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow)\b"
            r"[^\n|;&]{0,200}?(?<!\S)-p['\"]?([^\s'\"`]{3,200})"
        ),
        ("mysql", "mariadb"),
        1,
        needs_strength=True,
    ),
    _Rule(
        "command-line-password",
        "password given to sshpass -p",
        re.compile(r"(?i)\bsshpass\b[^\n|;&]{0,100}?(?<!\S)-p[ \t]*['\"]?([^\s'\"`]{3,200})"),
        ("sshpass",),
        1,
        needs_strength=True,
    ),
    _Rule(
        "command-line-password",
        "user:password given to curl/wget -u/--user",
        re.compile(
            r"(?i)\b(?:curl|wget)\b[^\n|;&]{0,300}?(?<!\S)(?:-u|--user)(?:[ \t]+|=)?['\"]?"
            r"[^\s:'\"`]{1,100}:([^\s'\"`]{3,200})"
        ),
        ("curl", "wget"),
        1,
        needs_strength=True,
    ),
    _Rule(
        "command-line-password",
        "password given to a --password option",
        re.compile(
            r"(?i)(?<![\w-])--(?:[a-z]+-)?password[ \t]+['\"]?"
            r"(?![^\s'\"`]*password)([^\s'\"`-][^\s'\"`]{2,200})"  # not 'Password123!' samples
        ),
        ("-password",),
        1,
        needs_strength=True,
    ),
    _Rule(
        "password-assignment",
        "password in a table row",
        re.compile(rf"(?i)\|[ \t]*(?:{_words()})[ \t]*\|[ \t]*`?([^\s|`]{{4,200}})`?[ \t]*\|"),
        ("|",),
        1,
        needs_strength=True,
    ),
    _Rule(
        "password-assignment",
        "password assigned in plain text",
        re.compile(
            rf"(?i)(?<![\w-])(?:{_words(generic=False)})"
            r"(?![\w-])[ \t]*[:=][ \t]*(?!['\"`])([^\s'\"`,;]{6,200})"
        ),
        _word_triggers(generic=False),
        1,
        needs_strength=True,
    ),
    # The generic rule last: a value a specific rule names says more about what was found.
    _Rule(
        "password-assignment",
        "password or secret assigned in plain text",
        re.compile(
            r"(?i)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token)"
            r"(?![\w-])[ \t]*[:=][ \t]*(?!['\"`])([^\s'\"`,;]{6,200})"
        ),
        ("pass", "pwd", "secret", "key", "token"),
        1,
        needs_strength=True,
    ),
)

_PRIVATE_KEY_RE = re.compile(
    r"(?i)-{4,5} ?BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}|PuTTY-User-Key-File-\d+:"
)
#: A line of a key's body, whatever it is wrapped in: quoted, indented, a list item, a table
#: cell, a comment, a line of a YAML block or of a JSON string with ``\n`` escapes.
_KEY_BODY_RE = re.compile(
    r"^[ \t>#/*|\"'`,+-]*(?:\\n)?([A-Za-z0-9+/]{24,}={0,2})(?:\\n)*[ \t\"'`,|\\]*$"
)
#: A body on the header's own line: ``"-----BEGIN ... KEY-----\nMIIE..."`` in JSON or YAML.
_INLINE_BODY_RE = re.compile(r"(?:\\n|\\r|[ \t])+[A-Za-z0-9+/]{40,}")


# --------------------------------------------------------------------------- detect-secrets


@dataclass(frozen=True)
class _Detector:
    """How kbapp uses one detect-secrets plugin."""

    #: Literals one of which a line must hold for the plugin to be run on it (its own patterns
    #: need one of them); none: its patterns run over the whole text to find its lines.
    triggers: tuple[str, ...] = ()
    #: ...and what the line must also hold (KeywordDetector only looks at quoted values).
    requires: tuple[str, ...] = ()
    #: "on", "entropy" (only with ``[secrets] entropy = true``, with this limit) or "off":
    #: kbapp's own rules do the job with fewer false alarms (BasicAuth, PrivateKey), or the
    #: plugin flags what runbooks are full of (public IP addresses).
    use: str = "on"
    limit: float = 0.0


#: The one table of detect-secrets plugins: a plugin not listed runs with its own patterns.
_DETECTORS: dict[str, _Detector] = {
    "ArtifactoryDetector": _Detector(("AKC", "AP")),
    "AWSKeyDetector": _Detector(("A3T", "ABIA", "ACCA", "AKIA", "ASIA", "aws")),
    "AzureStorageKeyDetector": _Detector(("AccountKey=",)),
    "CloudantDetector": _Detector(("cloudant",)),
    "GitHubTokenDetector": _Detector(("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    "IbmCloudIamDetector": _Detector(("key", "pwd", "pass", "token")),
    "IbmCosHmacDetector": _Detector(("secret",)),
    "JwtTokenDetector": _Detector(("eyJ",)),
    "KeywordDetector": _Detector(
        ("key", "pwd", "secret", *_word_triggers()), requires=("'", '"', "`")
    ),
    "MailchimpDetector": _Detector(("-us",)),
    "NpmDetector": _Detector(("_authtoken",)),
    "OpenAIDetector": _Detector(("T3BlbkFJ",)),
    "PypiTokenDetector": _Detector(("pypi-",)),
    "SendGridDetector": _Detector(("SG.",)),
    "SlackDetector": _Detector(("xox", "hooks.slack.com")),
    "SoftlayerDetector": _Detector(
        ("softlayer", "sl_", "sl-", "slkey", "slpass", "slpwd", "sltoken", "slapi")
    ),
    "SquareOAuthDetector": _Detector(("sq0csp-",)),
    "StripeDetector": _Detector(("k_live_",)),
    "Base64HighEntropyString": _Detector(('"', "'"), use="entropy", limit=4.5),
    "HexHighEntropyString": _Detector(('"', "'"), use="entropy", limit=3.0),
    "IPPublicDetector": _Detector(use="off"),
    "BasicAuthDetector": _Detector(use="off"),
    "PrivateKeyDetector": _Detector(use="off"),
}


@dataclass
class _Plugin:
    name: str
    description: str
    instance: Any
    triggers: tuple[str, ...]
    patterns: list[re.Pattern[str]]  # when there are no triggers: run over the whole text
    requires: tuple[str, ...] = ()


@functools.lru_cache(maxsize=2)
def _plugins(entropy: bool) -> tuple[_Plugin, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    found: list[_Plugin] = []
    plugin_class: Any
    for plugin_class in get_mapping_from_secret_type_to_class().values():
        name = plugin_class.__name__
        detector = _DETECTORS.get(name, _Detector())
        if detector.use == "off" or (detector.use == "entropy" and not entropy):
            continue
        instance = plugin_class(limit=detector.limit) if detector.limit else plugin_class()
        triggers = detector.triggers
        patterns = (
            []
            if triggers
            else [re.compile(p.pattern, p.flags | re.M) for p in getattr(instance, "denylist", ())]
        )
        if not triggers and not patterns:
            continue  # nothing tells where to look: a future plugin kbapp does not know yet
        found.append(
            _Plugin(
                name,
                str(plugin_class.secret_type),
                instance,
                triggers,
                patterns,
                detector.requires,
            )
        )
    return tuple(found)


def _keyword_filtered(secret: str, line: str) -> bool:
    """detect-secrets' own heuristics for values that are not real secrets."""
    from detect_secrets.filters import heuristic

    return (
        heuristic.is_templated_secret(secret)
        or heuristic.is_prefixed_with_dollar_sign(secret)
        or heuristic.is_indirect_reference(line)
        or heuristic.is_sequential_string(secret)
        or heuristic.is_potential_uuid(secret)
        or heuristic.is_not_alphanumeric_string(secret)
    )


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


def _confirm(plugin: _Plugin, path: str, chunk: str, number: int) -> Iterator[str]:
    try:
        found = plugin.instance.analyze_line(filename=path, line=chunk, line_number=number)
    except Exception:  # noqa: BLE001 - a plugin bug must not stop a save; kbapp's own rules still ran
        return
    for secret in found:
        value = str(secret.secret_value or "")
        if plugin.name == "KeywordDetector" and _keyword_filtered(value, chunk):
            continue
        yield value


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


_KEY_END_RE = re.compile(r"(?i)-{4,5} ?END (?:[A-Z0-9]+ )*PRIVATE KEY|Private-MAC:")


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


_NEXT_LINE_KEYS = ("pass", "pwd", "secret", "token", "key")
_NEXT_LINE_RE = re.compile(
    r"(?im)^([ \t]*(?:-[ \t]+)?)[\"']?[\w.-]{0,60}?"
    r"(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?key|secret[_-]?key"
    r"|auth[_-]?token|token)[\"']?[ \t]*:[ \t]*(?:[|>][-+0-9]{0,3}[ \t]*)?(?:#[^\n]*)?\r?\n"
    r"(?:[ \t]*\r?\n){0,3}([ \t]+)([^\s#][^\n]{0,200})"
)


#: Invisible characters that split a keyword without changing how it reads: zero-width
#: space/joiners, word joiner, soft hyphen, byte-order mark, bidirectional marks.
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x180E,
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2060,
        0x2061,
        0x2062,
        0x2063,
        0x2064,
        0xFEFF,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)


def _canonical(text: str) -> str:
    """``text`` as it reads: invisible characters dropped and compatibility forms folded
    (fullwidth ``ｐａｓｓｗｏｒｄ`` is ``password``), so neither hides a keyword. Line breaks are
    kept where they are, so line numbers still point at the file's lines."""
    if text.isascii():
        return text
    text = text.translate(_INVISIBLE)
    return unicodedata.normalize("NFKC", text) if not text.isascii() else text


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


#: Words that make a hyphenated value read as a description ("your-db-password"), not as a
#: passphrase made of random words ("correct-horse-battery-staple").
_PLACEHOLDER_PARTS = _PLACEHOLDER_WORDS | {
    "your",
    "my",
    "the",
    "a",
    "an",
    "of",
    "to",
    "for",
    "in",
    "on",
    "and",
    "or",
    "not",
    "no",
    "here",
    "goes",
    "real",
    "fake",
    "dummy",
    "sample",
    "test",
    "wrong",
    "new",
    "old",
    "db",
    "api",
    "key",
    "user",
    "name",
    "client",
    "change",
    "me",
    "this",
    "that",
    "see",
    "vault",
    "from",
    "get",
    "set",
    "read",
    "only",
    "write",
    "access",
    "auth",
    "service",
    "account",
    "app",
    "admin",
    "root",
    "default",
    "same",
    "as",
    "above",
    "below",
    "env",
    "var",
}

_BRACKETS = {"<": ">", "{": "}", "[": "]", "(": ")", "%": "%"}
_VARIABLE_RE = re.compile(r"\$(?:env:)?([A-Za-z_][A-Za-z0-9_]*)")


def _looks_like_placeholder(value: str) -> bool:
    stripped = value.strip().strip("'\"`")
    if not stripped:
        return True
    if _looks_like_reference(stripped):
        return True
    lowered = stripped.lower()
    if lowered in _PLACEHOLDER_WORDS or "redacted" in lowered:
        return True
    if "example" in lowered and re.fullmatch(r"[a-z_-]*", lowered.replace("example", "")):
        return True  # example, example-password, my_example
    if re.fullmatch(r"[A-Z0-9/+]*EXAMPLE(?:KEY)?", stripped.replace("/", "")):
        return True  # AWS's documentation keys: AKIAIOSFODNN7EXAMPLE, wJalr...EXAMPLEKEY
    if len(set(stripped)) <= 2 or re.search(r"(?i)x{6,}|0{8,}|\*{4,}", stripped):
        return True  # ****, xxxxxx, T00000000/B00000000/XXXXXXXX
    if re.fullmatch(r"[A-Za-z]+(?:_[A-Za-z]+)+", stripped):
        return True  # an identifier: client_secret_value
    if re.fullmatch(r"[A-Za-z]+(?:-[A-Za-z]+)+", stripped):
        return not _looks_like_passphrase(stripped)  # wrong-password, but not a passphrase
    return bool(re.fullmatch(r"(?i)(?:your|my|the)[-_]?[a-z_]+|[a-z_]*_here|\.\.\.+", stripped))


def _looks_like_reference(value: str) -> bool:
    """A variable, template or command that fetches the value elsewhere (``$DB_PASS``,
    ``${DB_PASS}``, ``$(vault read ...)``, ``%DB_PASS%``, ``{{ db_pass }}``, ``<password>``,
    ``[REDACTED]``), not a password that merely starts with one of those characters."""
    variable = _VARIABLE_RE.fullmatch(value)
    if variable:
        return _name_like(variable.group(1))  # $DB_PASS, $dbPass; $Summer2024 is a password
    for prefix in ("${", "$(", "%{", "{{", "{%"):
        if value.startswith(prefix):
            closing = {"${": "}", "$(": ")", "%{": "}", "{{": "}}", "{%": "%}"}[prefix]
            inner = value[len(prefix) :]
            # closed, or cut off at a space after a plain word: $(vault
            return bool(
                inner.endswith(closing) or re.fullmatch(r"[ \t]*[A-Za-z_][A-Za-z_.]*", inner)
            )
    opening = value[0]
    if opening in _BRACKETS:
        end = value.find(_BRACKETS[opening], 1)
        if end == -1:  # cut off at a space: "<from the vault>" arrives as "<from"
            return bool(re.fullmatch(r"[A-Za-z_][A-Za-z_.-]*", value[1:]))
        inner = value[1:end]
        if _looks_like_reference(inner) if inner[:1] in _BRACKETS else False:
            return True  # [<DomainName>]
        return bool(re.fullmatch(r"\d*|[A-Za-z_][A-Za-z0-9_. -]*", inner)) and (
            inner.isdigit() or not inner or _name_like(inner)
        )
    return False


def _name_like(name: str) -> bool:
    """``DB_PASS``, ``db_pass``, ``dbPass``, ``your password``: not ``Summer2024``."""
    return name.isupper() or name.islower() or " " in name or not any(c.isdigit() for c in name)


def _looks_like_passphrase(value: str) -> bool:
    """Three or more words joined by hyphens, none of them the words of a description."""
    words = value.lower().split("-")
    return (
        len(words) >= 3
        and sum(len(word) >= 4 for word in words) >= 2
        and not any(word in _PLACEHOLDER_PARTS for word in words)
    )


def _looks_strong(value: str) -> bool:
    """A value that reads like a real password rather than a word of prose or a variable."""
    if re.fullmatch(r"[A-Z][A-Z0-9_]+", value):  # an environment variable's name
        return False
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    if value.endswith((".md", ".txt", ".yaml", ".yml", ".json", ".pem", ".key", ".conf")):
        return False  # a file name
    if "/" in value and _looks_like_path(value):
        return False  # vault/prod/db, /etc/app/secret
    return has_digit or has_symbol or (mixed_case and len(value) >= 10)


def _looks_like_path(value: str) -> bool:
    """A file or vault path rather than a password with a slash in it (``Sup3r/S3cret``)."""
    if not re.fullmatch(r"(?:[A-Za-z]:|~|\.{1,2})?/?(?:[a-z0-9._@-]+/)+[a-z0-9._@-]*", value):
        return False
    anchored = value.startswith(("/", "./", "../", "~/")) or value[1:3] == ":/"
    return anchored or value.count("/") >= 2 or not any(c.isdigit() for c in value)


def _preview(value: str) -> str:
    value = value.strip()
    if len(value) <= 6:
        return "*" * len(value)
    return value[:4] + "…" + f"({len(value)} characters)"


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_for_scan(data: bytes) -> tuple[str, bool]:
    """The text to scan in a file's bytes, and whether the file is text at all.

    A byte-order mark says the encoding (PowerShell's ``>`` writes UTF-16 with one); UTF-16
    or UTF-32 without one shows as NUL bytes in every second or every fourth place; anything
    else with NUL bytes (a binary file, a text that starts with a NUL) is scanned with the NUL
    bytes removed, so text inside it is still seen. A secret must not get past the scan by
    being saved in another encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), True
    if b"\x00" not in data:
        return data.decode("utf-8", errors="replace"), True
    sample = data[:65536]
    quarter = max(1, len(sample) // 4)
    nuls = [sample[offset::4].count(0) for offset in range(4)]
    if nuls[1] + nuls[2] + nuls[3] > 2.7 * quarter and nuls[0] < 0.1 * quarter:
        return data.decode("utf-32-le", errors="replace"), True
    if nuls[0] + nuls[1] + nuls[2] > 2.7 * quarter and nuls[3] < 0.1 * quarter:
        return data.decode("utf-32-be", errors="replace"), True
    if nuls[1] + nuls[3] > 1.6 * quarter and nuls[0] + nuls[2] < 0.1 * quarter:
        return data.decode("utf-16-le", errors="replace"), True
    if nuls[0] + nuls[2] > 1.6 * quarter and nuls[1] + nuls[3] < 0.1 * quarter:
        return data.decode("utf-16-be", errors="replace"), True
    return data.replace(b"\x00", b"").decode("utf-8", errors="replace"), False


def hits_for_config(text: str, path: str, config: KbConfig | None) -> list[SecretHit]:
    """:func:`scan_text` with the knowledge base's ``[secrets]`` settings."""
    return scan_text(text, path, SecretsPolicy.from_config(config))
