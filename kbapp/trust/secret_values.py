"""What a matched value is: a placeholder, a reference, a passphrase, a path or a real
password, and how a hit shows it without holding it."""

from __future__ import annotations

import re

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
