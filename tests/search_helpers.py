"""A small hand-made knowledge base for the search tests (one commit, real files)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from helpers import git, write_doc

from kbapp.search import SearchIndex
from kbapp.settings import Settings
from kbapp.workspace import Workspace


def front(
    doc_id: str,
    title: str,
    doc_type: str,
    status: str = "published",
    *,
    org: str = "internal",
    tags: tuple[str, ...] = (),
    systems: tuple[str, ...] = (),
    last_reviewed: str | None = None,
    extra: str = "",
) -> str:
    lines = [
        "---",
        f"id: {doc_id}",
        f"title: {title}",
        f"type: {doc_type}",
        f"status: {status}",
        f"owner_org: {org}",
    ]
    if tags:
        lines += ["tags:"] + [f"  - {t}" for t in tags]
    if systems:
        lines += ["systems:"] + [f"  - {s}" for s in systems]
    if last_reviewed:
        lines += ["review:", f"  last_reviewed: {last_reviewed}"]
    if extra:
        lines.append(extra.rstrip("\n"))
    lines.append("---")
    return "\n".join(lines) + "\n"


DOCS: dict[str, str] = {
    "runbooks/etcd-no-leader.md": front(
        "kb-00000001",
        "etcdNoLeader",
        "runbook",
        tags=("etcd",),
        systems=("openshift",),
        last_reviewed="2099-01-01",
    )
    + "# etcdNoLeader\n\n## Meaning\n\netcdNoLeader fires: the etcd cluster has lost its leader.\n\n"
    "```shell\netcdctl endpoint status --cluster\n```\n",
    "known-errors/ora-600.md": front(
        "kb-00000002",
        "Oracle internal error",
        "known-error",
        org="partner",
        systems=("payments-db",),
    )
    + "ORA-00600: internal error code, arguments: [kcbgtcr_13].\n\nSeen on "
    "db01.prod.example.com; look in /var/log/syslog first.\n",
    "troubleshooting/access-denied.md": front(
        "kb-00000003",
        "Windows update fails",
        "troubleshooting",
    )
    + "The installer stops with 0x80070005 (access is denied). Run it elevated.\n",
    "sops/payments-failover.md": front(
        "kb-00000004",
        "Fail over the payments database",
        "sop",
        org="partner",
        tags=("failover", "postgres"),
        systems=("payments-db",),
        last_reviewed="2020-01-01",
    )
    + "## Steps\n\nPromote the replica, then repoint the payments application. Postgres "
    "replication must be healthy.\n",
    "sops/payments-failover-draft.md": front(
        "kb-00000005",
        "Fail over the payments database (new)",
        "sop",
        "draft",
        tags=("failover", "postgres"),
        systems=("payments-db",),
    )
    + "## Steps\n\nPromote the replica, then repoint the payments application. Postgres "
    "replication must be healthy.\n",
    "runbooks/http-503.md": front(
        "kb-00000006",
        "HTTP 503 from the load balancer",
        "runbook",
        tags=("haproxy",),
    )
    + "When kube-apiserver returns HTTP 503, raise max_connections in haproxy.cfg.\n\n"
    "The load balancer logs the backend as DOWN.\n",
    "known-errors/xz.md": front(
        "kb-00000007",
        "xz backdoor",
        "known-error",
        tags=("security",),
    )
    + "CVE-2024-3094 affects xz 5.6.0 and 5.6.1; downgrade the package.\n",
    "sops/old-failover.md": front(
        "kb-00000008",
        "Old failover procedure",
        "sop",
        "retired",
        tags=("failover",),
    )
    + "Failover of the payments database the old way, by hand.\n",
    "runbooks/restart-deployment.md": front(
        "kb-00000009",
        "Restart a deployment",
        "runbook",
    )
    + "Use kubectl rollout restart on the k8s deployment.\n",
    "runbooks/node-not-ready.md": front(
        "kb-0000000a",
        "Node not ready",
        "runbook",
    )
    + "A kubernetes node reports NotReady; drain it and check the kubelet.\n",
    "runbooks/payments-latency.md": front(
        "kb-0000000b",
        "Payments latency",
        "runbook",
        systems=("payments-api",),
    )
    + "Latency of the payments API rises; failover is not the fix here, check postgres "
    "locks instead. The failover runbook is elsewhere.\n",
}


def populate(ws: Workspace, docs: dict[str, str] | None = None) -> None:
    for relative, text in (docs or DOCS).items():
        write_doc(ws, relative, text)
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "Search fixtures")


def module_index(
    tmp_path_factory: pytest.TempPathFactory, fill: Callable[[Workspace], object]
) -> Iterator[SearchIndex]:
    """A knowledge base filled by ``fill`` and its index, in a module-wide home of its own."""
    home = tmp_path_factory.mktemp("search-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KBAPP_CONFIG_DIR", str(home / "config"))
        mp.setenv("KBAPP_DATA_DIR", str(home / "data"))
        gitconfig = home / "gitconfig"
        gitconfig.write_text(
            "[user]\n\tname = T\n\temail = t@internal.example\n"
            "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n"
        )
        mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        ws = Workspace.init(
            home / "kb",
            "Fixture KB",
            ["internal", "partner"],
            settings=Settings(user_name="T", user_email="t@internal.example"),
        )
        fill(ws)
        index = SearchIndex.for_workspace(ws)
        index.catch_up()
        yield index
        ws.close()
