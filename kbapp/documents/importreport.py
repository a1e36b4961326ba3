"""What an import reports (:class:`ImportReport`): the files imported and why each got its
type, the files skipped and held back (lines that look like secrets, with their line numbers
in the source folder), the first reviews scheduled, the commit; as text for the command line
and as JSON. :mod:`kbapp.documents.importer` fills it and re-exports these names."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportedFile:
    source: str
    path: str
    type: str
    reason: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HeldBack:
    """A line of a file to import that looks like a secret."""

    source: str  # path in the folder being imported
    line: int  # line in that (source) file
    rule: str
    message: str
    digest: str  # sha256 of the value, what [secrets] allow records

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class ImportReport:
    source: str
    into: str
    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source path, why)
    #: Files not imported because a line looks like a secret (the user did not allow them).
    held_back: list[HeldBack] = field(default_factory=list)
    #: Secret-looking lines the user accepted as reviewed false positives.
    allowed: list[HeldBack] = field(default_factory=list)
    #: First reviews scheduled: (how many, earliest, latest).
    reviews: tuple[int, dt.date, dt.date] | None = None
    commit: str | None = None
    elapsed: float = 0.0

    def type_counts(self) -> dict[str, int]:
        return dict(Counter(f.type for f in self.imported).most_common())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "into": self.into,
            "imported": len(self.imported),
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "types": self.type_counts(),
            "held_back": [dataclasses.asdict(h) for h in self.held_back],
            "allowed_secrets": [dataclasses.asdict(h) for h in self.allowed],
            "first_reviews": None
            if self.reviews is None
            else {
                "documents": self.reviews[0],
                "from": self.reviews[1].isoformat(),
                "to": self.reviews[2].isoformat(),
            },
            "commit": self.commit,
            "elapsed_s": round(self.elapsed, 2),
            "files": [
                {
                    "source": f.source,
                    "path": f.path,
                    "type": f.type,
                    "reason": f.reason,
                    "notes": f.notes,
                }
                for f in self.imported
            ],
        }

    def summary(self) -> str:
        lines = [
            f"Imported {len(self.imported)} documents from {self.source} into "
            f"{self.into or 'the top folder'} in {self.elapsed:.1f} s"
            + (f" (commit {self.commit[:10]})" if self.commit else "")
        ]
        for doc_type, count in self.type_counts().items():
            lines.append(f"  {count:6d}  {doc_type}")
        guessed = Counter(f.reason for f in self.imported)
        if guessed:
            lines.append("Types were guessed from:")
            for reason, count in guessed.most_common(8):
                lines.append(f"  {count:6d}  {reason}")
        if self.reviews is not None:
            count, first, last = self.reviews
            lines.append(f"First reviews of {count} documents spread from {first} to {last}.")
        if self.allowed:
            lines.append(
                f"Accepted {len(self.allowed)} secret-looking lines as reviewed false positives "
                "(recorded by hash in .kb/config.toml, [secrets] allow)."
            )
        if self.held_back:
            files = sorted({h.source for h in self.held_back})
            lines.append(
                f"Held back {len(files)} files: these lines look like secrets "
                "(line numbers in the files you imported):"
            )
            for held in self.held_back[:20]:
                lines.append(f"  {held.where}: {held.message.split(';')[0]} [{held.rule}]")
            if len(self.held_back) > 20:
                lines.append(f"  ... and {len(self.held_back) - 20} more (see --json)")
            lines.append(
                "If they are samples, not real secrets, import again with "
                "--allow-secrets: each value is then recorded as a reviewed false "
                "positive."
            )
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} files:")
            for source, why in self.skipped[:20]:
                lines.append(f"  {source}: {why}")
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see --json)")
        return "\n".join(lines)
