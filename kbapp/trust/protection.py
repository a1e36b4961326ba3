"""Protected paths: the ``[[policy.protected]]`` rules and the default ones, matched on paths as
a case-insensitive file system sees them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kbapp.config import CONFIG_PATH, KbConfig, path_matches
from kbapp.errors import ConfigError
from kbapp.trust import policy

#: The knowledge base's own templates (``.kb/templates/``), protected by default like the config.
TEMPLATES_PATTERN = "/.kb/templates"
TEMPLATES_PROBE = ".kb/templates/template.md"  # how a rule of the config's own is seen to name them
MAILMAP_NAME = ".mailmap"


@dataclass(frozen=True)
class ProtectedPaths:
    patterns: tuple[str, ...]
    orgs: tuple[str, ...]

    def matches(self, path: str) -> bool:
        # gitignore's rules (as every path list in config.toml), on paths as a case-insensitive
        # file system sees them
        return path_matches(fold_path(path), [fold_path(p) for p in self.patterns])


def fold_path(path: str) -> str:
    """``path`` as a case-insensitive file system sees it (Windows, macOS): case folded,
    NFC, invisible format characters dropped, trailing dots and spaces of each part dropped
    (NTFS), an alternate data stream (``::$DATA``) dropped. ``.KB/Config.toml`` and
    ``.kb/config.toml`` are the same file on a partner's laptop, so a rule protects both."""
    path = unicodedata.normalize("NFC", path)
    path = "".join(c for c in path if unicodedata.category(c) != "Cf").casefold()
    parts = [part.split("::", 1)[0].rstrip(". ") for part in path.split("/")]
    return "/".join(parts)


def protected_paths(config: KbConfig) -> list[ProtectedPaths]:
    """The ``[[policy.protected]]`` rules, plus the default ones: ``.kb/config.toml`` (the
    rules themselves), ``.gitattributes`` (how git treats the documents) and ``.mailmap``
    (who plain git says made each change) may only be
    changed by the organisation that owns the config, unless a rule of its own names the
    file."""
    rules = config.section("policy").get("protected", [])
    out = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            raise ConfigError(f"{CONFIG_PATH}: policy.protected[{index}] must be a table")
        out.append(
            ProtectedPaths(_strings(rule.get("paths")), _strings(rule.get("orgs", rule.get("org"))))
        )
    owner = config.owner_org
    if owner and not any(rule.matches(CONFIG_PATH) for rule in out):
        out.append(ProtectedPaths((CONFIG_PATH,), (owner,)))
    # .gitattributes (at any depth) decides how every clone encodes, converts and merges the
    # documents: part of the repository contract, protected like the config.
    if owner and not any(rule.matches(policy.GITATTRIBUTES_NAME) for rule in out):
        out.append(ProtectedPaths((policy.GITATTRIBUTES_NAME,), (owner,)))
    # The team's templates are what both organisations' new documents are written from (their
    # guidance, fields and sensitivity): a partner must not change them for the owner.
    if owner and not any(rule.matches(TEMPLATES_PROBE) for rule in out):
        out.append(ProtectedPaths((TEMPLATES_PATTERN,), (owner,)))
    # .mailmap renames who made each change in plain git's log and blame (docs/security.md).
    if owner and not any(rule.matches(MAILMAP_NAME) for rule in out):
        out.append(ProtectedPaths((MAILMAP_NAME,), (owner,)))
    return out


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def protected_changes(paths: list[str], config: KbConfig, org: str) -> list[policy.Violation]:
    """What the hook would refuse when ``org`` changes ``paths``: the rule a client runs before
    it commits (case variants included; ``config``: the shared branch's rules)."""
    found: list[policy.Violation] = []
    for path in sorted(set(paths)):
        found.extend(_protected_path(path, config, {org}))
    return found


def _protected_path(
    path: str, config: KbConfig, orgs: set[str], unplaced: str = ""
) -> list[policy.Violation]:
    """``path`` changed by ``orgs`` against the protected-path rules; ``unplaced``: why the
    pusher the server names has no organisation (said instead of "an unknown organisation")."""
    found = []
    for rule in protected_paths(config):
        strangers = sorted(o for o in orgs if o not in rule.orgs)
        if rule.matches(path) and (strangers or not orgs):
            allowed = ", ".join(rule.orgs) or "nobody"
            if not orgs:
                why = (
                    f"only {allowed} may change this path, and no commit of this push from "
                    "them changes it (a forced push or a merge that takes an old version?)"
                )
            else:
                who = (
                    f"organisation '{strangers[0]}'" if strangers[0] else "an unknown organisation"
                )
                why = f"only {allowed} may change this path; this change is from {who}"
                if not strangers[0] and unplaced:
                    why = f"only {allowed} may change this path; {unplaced}"
            found.append(policy.Violation(path, 0, "protected-path", why))
            break
    return found
