"""The palette's matcher: typos, initials, ranking, thousands of titles (no display needed)."""

from __future__ import annotations

import time

from kbapp.fuzzy import ACTION, DOCUMENT, SETTING, Candidate, Matcher, score

ACTIONS = [
    Candidate(ACTION, "doc.new", "New document…", "create write template", "Ctrl+N"),
    Candidate(ACTION, "incident.start", "Start incident…", "new incident begin", "Ctrl+I"),
    Candidate(ACTION, "incident.note", "Incident note", "", "Ctrl+Shift+N"),
    Candidate(ACTION, "doc.history", "History of this document", "versions diff", "Ctrl+Shift+Y"),
    Candidate(ACTION, "sync.now", "Sync now", "publish pull push", "Ctrl+Shift+S"),
    Candidate(ACTION, "sync.conflicts", "Resolve conflicts", "merge", "Ctrl+Shift+C"),
]
DOCS = [
    Candidate(DOCUMENT, "runbooks/lag.md", "Payments DB replica lag", detail="runbook"),
    Candidate(DOCUMENT, "sops/vpn.md", "Reset a VPN token", detail="sop"),
    Candidate(DOCUMENT, "sops/history.md", "History of the payments platform", detail="sop"),
]
SETTINGS = [Candidate(SETTING, "theme", "Theme", "dark light colours", "system")]


def keys(matcher: Matcher, query: str, n: int = 3) -> list[str]:
    return [m.candidate.key for m in matcher.rank(query)][:n]


def test_typos_initials_and_ranking() -> None:
    matcher = Matcher(ACTIONS + DOCS + SETTINGS)
    assert keys(matcher, "")[:2] == ["doc.new", "incident.start"]  # actions, in menu order
    assert set(keys(matcher, "incdent", 2)) == {"incident.start", "incident.note"}  # a typo
    assert keys(matcher, "ni", 1) == ["incident.start"]  # initials of "new incident"
    assert keys(matcher, "nd", 1) == ["doc.new"]
    assert keys(matcher, "new doc", 1) == ["doc.new"]
    # An action that starts with the words beats a document that only contains them.
    assert keys(matcher, "history", 2) == ["doc.history", "sops/history.md"]
    assert keys(matcher, "replca lag", 1) == ["runbooks/lag.md"]  # a document, by its title
    assert keys(matcher, "vpn", 1) == ["sops/vpn.md"]
    assert keys(matcher, "dark", 1) == ["theme"]  # a setting by what it is about
    assert keys(matcher, "sync", 1) == ["sync.now"]
    assert keys(matcher, "snc", 1) == ["sync.now"]  # a short typo of a command
    assert keys(matcher, "thme", 1) == ["theme"]  # ... or of a setting
    assert matcher.rank("qqqzzz") == []
    # Ranked: a prefix beats a word, a word beats a substring, a substring beats a typo.
    doc = Candidate(DOCUMENT, "x", "Rotate certificates")
    assert (
        score("rotate", doc) > score("certif", doc) > score("tate", doc) > score("rotaet", doc) > 0
    )
    assert score("xyz", doc) == 0


def test_thousands_of_titles_rank_while_typing() -> None:
    docs = [
        Candidate(DOCUMENT, f"d/{i}.md", f"Article {i} about service {i % 97} failover")
        for i in range(6000)
    ]
    matcher = Matcher(ACTIONS + docs + [Candidate(DOCUMENT, "x.md", "Replica lag on payments")])
    started = time.perf_counter()
    for query in ("r", "re", "rep", "repl", "replca", "replca l", "replca lag"):
        found = matcher.rank(query)
    elapsed = (time.perf_counter() - started) / 7
    assert found[0].candidate.key == "x.md"
    assert elapsed < 0.15, f"{elapsed * 1000:.0f} ms a keystroke"


def test_weak_matches_among_many_titles_are_dropped() -> None:
    """On 5,864 real titles, "review" listed "Close view" (an edit-distance match over the
    whole title): a word typed must match a word, its start, a run in it, its letters in
    order from its first letter, or be one slip from it; runs over word starts ("re" +
    "view") are for commands, and for titles only as initials."""
    actions = [
        Candidate(ACTION, "view.close", "Close view", "", "Esc"),
        Candidate(ACTION, "review.queue", "Review queue", "due overdue", "Ctrl+Shift+R"),
        Candidate(ACTION, "doc.new", "New document…", "create write template", "Ctrl+N"),
    ]
    titles = [
        "UE-V overview",
        "Report Viewer stops working when viewing report",
        "Troubleshoot and review Wi-Fi device configuration profiles in Intune",
        "Known issues for .NET 4.5.1 Preview",
        "Zero-dollar Remittances go to Batch Recovery",
        "BitLocker recovery: known issues",
        "Troubleshoot admin password reset on Microsoft 365 admin center",
        "Send Microsoft Authenticator logs and get an incident ID for customer support",
        "Failed to add favorites and protected mode",
        "Troubleshoot AD FS issues",
        "Allocation failure in Azure Cloud Services",
        "Close old alerts using a PowerShell script",
    ]
    docs = [Candidate(DOCUMENT, f"d/{i}.md", title) for i, title in enumerate(titles)]
    matcher = Matcher(actions + docs)

    def found(query: str) -> list[str]:
        return [m.candidate.title for m in matcher.rank(query)]

    assert found("review") == [
        "Review queue",
        "Troubleshoot and review Wi-Fi device configuration profiles in Intune",
        "Known issues for .NET 4.5.1 Preview",  # a run inside a word: shown, below words
    ]
    assert found("bitlocker recovery") == ["BitLocker recovery: known issues"]
    assert found("incdent") == [
        "Send Microsoft Authenticator logs and get an incident ID for customer support"
    ]
    assert found("ad fs") == ["Troubleshoot AD FS issues"]
    assert found("close") == ["Close view", "Close old alerts using a PowerShell script"]
    assert found("newdoc") == ["New document…"]  # a command: runs over its words' starts
    assert found("rotaet") == []  # one slip, but nothing here is about rotating
