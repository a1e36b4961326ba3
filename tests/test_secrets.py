"""Secret scanning: what is caught (file, line, rule), what is allowed, and the save/import path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import git

from kbapp.config import update_config_text
from kbapp.documents import model as documents
from kbapp.documents.importer import import_folder
from kbapp.errors import PolicyError
from kbapp.trust.secrets import SecretsPolicy, scan_text
from kbapp.workspace import Workspace

# Built from parts so that this file itself does not hold a secret-looking line.
AWS_ID = "AKIA" + "Z7Q3L5M2N8P4R6T1"
GITHUB = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
KEY_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8sUvQYd2EEIcAqVnk0mNjVZ2bX0oe"

CAUGHT = [
    ("private-key", f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"),
    ("private-key", f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n"),
    ("connection-string-password", "psql postgres://app:Tr0ub4dor3x@db.internal:5432/app"),
    ("connection-string-password", "Server=db01;Database=pay;User Id=sa;Password=Hunter2!x;"),
    ("connection-string-password", "jdbc:mysql://db/pay?user=app&password=Zx9-Qw8-Er7"),
    ("password-assignment", "export PGPASSWORD=s3cr3t-Value9"),
    ("password-assignment", "--client-secret=Q8s_Zk2Lp9vX"),
    ("bearer-token", 'curl -H "Authorization: Bearer 4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"'),
    ("basic-auth-header", "Authorization: Basic YWRtaW46aHVudGVyMg=="),
    ("detect-secrets:AWSKeyDetector", f"aws configure set aws_access_key_id {AWS_ID}"),
    ("cloud-token", "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8Vb3nA2c"),
    ("cloud-token", "key=AIza" + "SyD4f8G2h6J9k3L5m7N1p0Q2r4S6t8U0v2W"),
    (
        "cloud-token",
        "https://acct.blob.core.windows.net/c?sv=2022&sig=" + "q8Zk2Lp9vXa4Mn7Bc1Df3Gh5Jk7Lm9Np%2B",
    ),
    ("cloud-token", "VAULT_TOKEN=hvs." + "CAESIJk3mN8pQ2rS5tU7vW9xY1zA3bC5dE7f"),
    ("api-token", f"git clone https://{GITHUB}@github.com/org/repo"),
    ("api-token", "glpat-" + "Xy7Zk2Lp9vXa4Mn7Bc1D"),
    ("detect-secrets:KeywordDetector", 'db_password = "Zq8-vX2-Lp9"'),
    (
        "detect-secrets:SlackDetector",
        "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
]

NOT_SECRETS = [
    "password: <from the vault, entry db/pay>",
    "psql postgres://app:${PGPASSWORD}@db.internal/app",
    "Authorization: Bearer $TOKEN",
    "The password policy requires 12 characters.",
    "password: required",
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",  # an illustration
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",  # AWS's own documentation key
    "Server=db01;Database=pay;User Id=sa;Password=<password>;",
    "git log 3f9c2a1e7d4b5a6c8e0f1a2b3c4d5e6f7a8b9c0d",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
]


@pytest.mark.parametrize(("rule", "text"), CAUGHT)
def test_each_kind_of_secret_is_caught_with_its_line_and_rule(rule: str, text: str) -> None:
    body = "# Runbook\n\nSome words.\n\n" + text + "\n\nMore words.\n"
    hits = scan_text(body, "runbooks/x.md")
    assert [h.rule for h in hits] == [rule], hits
    assert hits[0].line == 5 and hits[0].path == "runbooks/x.md"
    assert text.split("\n")[0][-12:] not in str(hits[0])  # the message never repeats the secret


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_placeholders_and_prose_are_not_secrets(text: str) -> None:
    assert scan_text("# Doc\n\n" + text + "\n", "x.md") == []


def test_inline_marker_on_the_line_or_the_line_before_allows_a_reviewed_value() -> None:
    line = "export PGPASSWORD=s3cr3t-Value9"
    assert scan_text(f"{line}  # kbapp:allow-secret\n", "x.md") == []
    assert scan_text(f"<!-- kbapp:allow-secret -->\n{line}\n", "x.md") == []
    assert scan_text(f"{line}\n<!-- kbapp:allow-secret -->\n", "x.md") != []  # after: no
    assert scan_text(f"{line}  # kbapp:allow-secret\n", "x.md", SecretsPolicy(inline_allow=False))


def test_config_allowlist_by_value_hash_path_and_rule() -> None:
    import hashlib

    line = "export PGPASSWORD=s3cr3t-Value9\n"
    digest = "sha256:" + hashlib.sha256(b"s3cr3t-Value9").hexdigest()
    assert scan_text(line, "x.md", SecretsPolicy(allow=["s3cr3t-Value9"])) == []
    assert scan_text(line, "x.md", SecretsPolicy(allow=[digest])) == []
    assert scan_text(line, "training/x.md", SecretsPolicy(allow_paths=["training/**"])) == []
    assert scan_text(line, "x.md", SecretsPolicy(disable=["password-assignment"])) == []
    assert scan_text(line, "x.md", SecretsPolicy(allow=["other"])) != []


def test_only_the_given_lines_are_reported() -> None:
    text = "a\nexport PGPASSWORD=s3cr3t-Value9\nb\nexport MYSQL_PWD=Zx9-Qw8-Er7\n"
    assert [h.line for h in scan_text(text, "x.md")] == [2, 4]
    assert [h.line for h in scan_text(text, "x.md", lines=[4])] == [4]
    assert scan_text(text, "x.md", lines=[]) == []


def test_a_huge_line_is_scanned_quickly() -> None:
    text = "password=" + "a1" * 5_000_000 + "\n" + ("key token secret pass " * 200_000)
    started = time.perf_counter()
    scan_text(text, "x.md")
    # A guard against patterns that backtrack (hours on 10 MB), not a speed figure: about
    # 4 s here, more when CI's two cores are shared.
    assert time.perf_counter() - started < 45


def test_save_refuses_a_secret_naming_file_line_and_rule(kb: Workspace) -> None:
    doc = kb.draft_from_template("runbook", "Rotate the payments DB password")
    doc.body += "\nexport PGPASSWORD=s3cr3t-Value9\n"
    line = (
        documents.serialise(doc).decode().split("\n").index("export PGPASSWORD=s3cr3t-Value9") + 1
    )
    before = git(kb.root, "rev-parse", "HEAD")
    with pytest.raises(PolicyError) as info:
        kb.save(doc)
    assert f"{doc.path}:{line}:" in str(info.value) and "[password-assignment]" in str(info.value)
    assert "s3cr3t-Value9" not in str(info.value)
    assert not (kb.root / doc.path).exists() and git(kb.root, "rev-parse", "HEAD") == before
    doc.body = doc.body.replace("s3cr3t-Value9", "s3cr3t-Value9  <!-- kbapp:allow-secret -->")
    assert kb.save(doc).commit


def test_config_allowlist_applies_to_saves(kb: Workspace) -> None:
    config = kb.root / ".kb/config.toml"
    config.write_text(
        update_config_text(config.read_text(), {"secrets": {"allow": ["Zx9-Qw8-Er7"]}})
    )
    kb.reload_config()
    doc = kb.draft_from_template("runbook", "Allowed example")
    doc.body += "\nexport MYSQL_PWD=Zx9-Qw8-Er7\n"
    assert kb.save(doc).commit


def _wiki_with_sample_password(tmp_path: Path) -> Path:
    src = tmp_path / "wiki"
    src.mkdir()
    (src / "clean.md").write_text("# Clean\n\nNothing here.\n")
    # Front matter that import rewrites: the line numbers of the written file shift, the
    # report must still name the line of the file the user has.
    (src / "leaky.md").write_text(
        "---\ntitle: Leaky\nms.date: 05/25/2020\n---\n# Leaky\n\nline\n\n"
        "export PGPASSWORD=s3cr3t-Value9\n"
    )
    return src


def test_import_holds_back_files_with_secrets_naming_the_source_line(
    kb: Workspace, tmp_path: Path
) -> None:
    report = import_folder(kb, _wiki_with_sample_password(tmp_path))
    assert [f.path for f in report.imported] == ["clean.md"]
    (held,) = report.held_back
    assert (held.source, held.line, held.rule) == ("leaky.md", 9, "password-assignment")
    assert held.digest.startswith("sha256:")
    assert not (kb.root / "leaky.md").exists()
    summary = report.summary()
    assert "leaky.md:9" in summary and "--allow-secrets" in summary


def test_import_allows_reviewed_false_positives_in_one_step(kb: Workspace, tmp_path: Path) -> None:
    """The user sees the list once, says they are samples: the files are imported and each
    value is recorded by its hash in [secrets] allow, in the same commit."""
    asked: list[list[str]] = []

    def decide(held: list) -> bool:  # type: ignore[type-arg]
        asked.append([h.where for h in held])
        return True

    report = import_folder(kb, _wiki_with_sample_password(tmp_path), allow_secrets=decide)
    assert asked == [["leaky.md:9"]]
    assert sorted(f.path for f in report.imported) == ["clean.md", "leaky.md"]
    config = (kb.root / ".kb/config.toml").read_text()
    assert report.allowed[0].digest in config and "s3cr3t-Value9" not in config
    assert "reviewed false positive: leaky.md:9" in config
    assert git(kb.root, "status", "--porcelain") == ""
    assert ".kb/config.toml" in git(kb.root, "show", "--name-only", "--format=", "HEAD")
    # The allowance is the value, not the file: a real secret added later is still refused.
    doc = kb.load("leaky.md")
    doc.body += "\nexport MYSQL_PWD=Other-Value-77x\n"
    with pytest.raises(PolicyError):
        kb.save(doc)


def test_bundled_templates_and_demo_hold_no_secret_hits() -> None:
    from kbapp.bundled import resource, templates_dir

    roots = [templates_dir(), resource()]
    checked = 0
    for root in roots:
        for path in Path(str(root)).rglob("*.md"):
            assert scan_text(path.read_text(encoding="utf-8"), str(path)) == [], path
            checked += 1
    assert checked >= 5


# Issue 14: what the scan missed on client and server alike (each value built so that this
# file does not trip the scan itself).
MISSED_BEFORE = [
    ("password-assignment", "password=$" + "ecretP@ss1"),
    ("password-assignment", "DB_PASSWORD=$" + "Summer2024"),
    ("password-assignment", "password: %" + "Tr0ub4dor9"),
    ("password-assignment", "password: (" + "Hunter2!x"),
    ("password-assignment", "password=[" + "Qw3rty!9"),
    ("password-assignment", "secret: {" + "Zx9Lp2!q"),
    ("password-assignment", "password=<" + "Tr0ub4dor&3"),
    ("password-assignment", "password=Sup3r/" + "S3cret"),
    ("password-assignment", "password=MyExample#" + "2024"),
    ("password-assignment", "password: correct-horse-" + "battery-staple"),
    ("password-assignment", "db:\n  password:\n    Zq8vX2" + "Lp9!"),
    ("password-assignment", "db:\n  password: |\n    Zq8vX2" + "Lp9!"),
    ("private-key", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: x\n" + KEY_BODY),
    ("private-key", '{"key": "-----BEGIN RSA PRIVATE KEY-----\\n' + KEY_BODY + '\\n-----END"}'),
    ("private-key", "tls:\n  key: |\n    -----BEGIN EC PRIVATE KEY-----\n    " + KEY_BODY),
    ("private-key", "-----BEGIN RSA PRIVATE KEY-----\r\n" + KEY_BODY + "\r\n"),
    ("private-key", '"-----BEGIN PRIVATE KEY-----",\n"' + KEY_BODY + '",\n'),
    ("private-key", "| -----BEGIN PRIVATE KEY----- |\n| " + KEY_BODY + " |\n"),
]

STILL_NOT_SECRETS = [
    "password: $DB_PASSWORD",
    "password=%DB_PASS%",
    "password: {{ vault_db_password }}",
    "password: [REDACTED]",
    "password: your-password-here",
    "password: not-a-real-password",
    "password: example",
    "vault_path=secret/data/prod/db",
    "password=$env:DbPass",
    "password:\n  required\n",
    "password:\nnext_key: value\n",
    "Nltest.exe /sc_change_pwd:[<DomainName>]",
    "Password={2};Integrated Security=false",
    "client_secret=<AZURE_CLIENT_SECRET>&scope=https://vault.azure.net/.default",
]


@pytest.mark.parametrize(("rule", "text"), MISSED_BEFORE)
def test_values_the_scan_used_to_miss_are_caught(rule: str, text: str) -> None:
    hits = scan_text("# Runbook\n\n" + text + "\n", "runbooks/x.md")
    assert [h.rule for h in hits] == [rule], hits


@pytest.mark.parametrize("text", STILL_NOT_SECRETS)
def test_references_and_descriptions_are_still_not_secrets(text: str) -> None:
    assert scan_text("# Doc\n\n" + text + "\n", "x.md") == []


@pytest.mark.parametrize(
    "data",
    [
        ("\ufeff" + "x\r\nexport PGPASSWORD=s3cr3t-Value9\r\n").encode("utf-16-le"),
        ("x\nexport PGPASSWORD=s3cr3t-Value9\n").encode("utf-16"),
        ("x\nexport PGPASSWORD=s3cr3t-Value9\n").encode("utf-16-be"),  # no byte-order mark
        ("x\nexport PGPASSWORD=s3cr3t-Value9\n").encode("utf-32"),
        b"\x00x\nexport PGPASSWORD=s3cr3t-Value9\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\nexport PGPASSWORD=s3cr3t-Value9\n\x00\x00",
    ],
    ids=["utf-16-le-bom", "utf-16-bom", "utf-16-be", "utf-32", "leading-nul", "inside-binary"],
)
@pytest.mark.parametrize("path", ["notes/ps.txt", "runbooks/ps.md"])
def test_every_encoding_is_decoded_before_the_scan(kb: Workspace, data: bytes, path: str) -> None:
    from kbapp.trust import policy

    found = policy.check_file(path, data, kb.config)
    assert "password-assignment" in [v.rule for v in found], found


def test_kbapp_refuses_a_secret_in_its_own_commit_message(kb: Workspace) -> None:
    doc = kb.draft_from_template("runbook", "Rotate")
    with pytest.raises(PolicyError) as info:
        kb.save(doc, message="Rotate\n\nold one was PGPASSWORD=s3cr3t-Value9")
    assert "(commit message):3:" in str(info.value)
    assert not (kb.root / doc.path).exists()


# Command-line options, table rows, ``pass:`` and non-English keywords (values built from parts
# so that this file does not trip the scan itself).
PW = "Zq8vTr4k" + "Lp2w"
CLI_CAUGHT = [
    ("command-line-password", "mysql -u root -p" + PW + " appdb"),
    ("command-line-password", "mariadb -h db01 -u app -p'" + PW + "'"),
    ("command-line-password", "mysqldump -uroot -p" + PW + " --all-databases"),
    ("command-line-password", "sshpass -p " + PW + " ssh admin@host"),
    ("command-line-password", "sshpass -p '" + PW + "' scp a host:b"),
    ("command-line-password", "curl -u admin:" + PW + " https://api.example.org"),
    ("command-line-password", "curl --user 'admin:" + PW + "' https://x"),
    ("command-line-password", "wget --user=admin:" + PW + " https://x"),
    ("command-line-password", "wget --user admin --password " + PW + " https://x"),
    ("command-line-password", "az vm create --admin-password " + PW),
    ("password-assignment", "| db01 | password | " + PW + " |"),
    ("password-assignment", "| db01 | Passwort | `" + PW + "` |"),
    ("password-assignment", "pass: " + PW),
    ("password-assignment", "Passwort: " + PW),
    ("password-assignment", "Kennwort = " + PW),
    ("password-assignment", "mot de passe : " + PW),
    ("password-assignment", "contraseña: " + PW),
    ("password-assignment", "hasło: " + PW),
]

CLI_ALLOWED = [
    "mysql -u root -p<password> appdb",
    "mysql -u root -p appdb",
    "mysql -u root -p$MYSQL_PWD",
    "mysql -u root -p" + "SECRET",
    "mysqldump -u root -p --all-databases > dump.sql",
    'sshpass -p "$SSHPASS" ssh host',
    "sshpass -p <password> ssh host",
    "sshpass -f ~/.pw ssh host",
    "curl -u admin:<password> https://x",
    'curl -u "$USER:$PASS" https://x',
    "curl -u admin https://x",
    "curl -u user:pass https://x",
    "--password <password>",
    "--password $PW",
    "az vm repair create --repair-password 'password!234'",
    "| db01 | password | <password> |",
    "| password | string | The password of the account |",
    "| db01 | password | `****` |",
    "pass: true",
    "pass: 5/5",
    "Test pass: 12 of 12",
    "bypass: " + "ABCdef123",
    "Passwort: <Passwort>",
    "mot de passe : ********",
    "pass: ${DB_PASS}",
]


@pytest.mark.parametrize(("rule", "text"), CLI_CAUGHT)
def test_command_lines_table_rows_and_other_languages_are_caught(rule: str, text: str) -> None:
    hits = scan_text("# Runbook\n\n" + text + "\n", "runbooks/x.md")
    assert [(h.rule, h.line) for h in hits] == [(rule, 3)], hits
    assert PW not in hits[0].preview


@pytest.mark.parametrize("text", CLI_ALLOWED)
def test_command_line_samples_and_placeholders_stay_allowed(text: str) -> None:
    assert scan_text("# Doc\n\n" + text + "\n", "x.md") == []


def test_file_names_and_tag_messages_are_scanned() -> None:
    from kbapp.trust.object_rules import check_object
    from kbapp.trust.policy import check_file_name

    found = check_file_name("ops/PGPASSWORD=" + PW + ".md", None)
    assert [(v.rule, v.line) for v in found] == [("password-assignment", 0)]
    assert "file name looks like a secret" in found[0].message
    assert check_file_name("runbooks/password-reset.md", None) == []
    assert check_file_name("runbooks/mysql -p.md", None) == []
    tag = b"object " + b"a" * 40 + b"\ntype commit\ntag v1.2\ntagger T <t@x> 1 +0000\n\n"
    found = check_object("tag", tag + b"Release 1.2\n\nPGPASSWORD=" + PW.encode() + b"\n", None)
    assert [(v.path, v.line) for v in found] == [("(tag message)", 3)]
