"""The detect-secrets plugin layer: which plugins run, where each one looks, and how a
candidate line is confirmed by the plugin (used directly as plugin objects, no global
settings, no network verification)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kbapp.trust.secret_rules import _word_triggers


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
