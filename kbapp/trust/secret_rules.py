"""kbapp's own secret rules: the password words, the line rules and the key patterns that
:mod:`kbapp.trust.secrets` runs over a file's text."""

from __future__ import annotations

import re
from dataclasses import dataclass


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


_KEY_END_RE = re.compile(r"(?i)-{4,5} ?END (?:[A-Z0-9]+ )*PRIVATE KEY|Private-MAC:")

_NEXT_LINE_KEYS = ("pass", "pwd", "secret", "token", "key")
_NEXT_LINE_RE = re.compile(
    r"(?im)^([ \t]*(?:-[ \t]+)?)[\"']?[\w.-]{0,60}?"
    r"(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?key|secret[_-]?key"
    r"|auth[_-]?token|token)[\"']?[ \t]*:[ \t]*(?:[|>][-+0-9]{0,3}[ \t]*)?(?:#[^\n]*)?\r?\n"
    r"(?:[ \t]*\r?\n){0,3}([ \t]+)([^\s#][^\n]{0,200})"
)
