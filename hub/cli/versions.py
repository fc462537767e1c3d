"""`hub mappings ...` and `hub rules ...`: versions of partner mappings and rulesets, from the shell
(hub.config_versions does the work; the API offers the same)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hub.cli.files import make_hub
from hub.cli.operator import shell_actor
from hub.config import Settings
from hub.config_versions import MAPPING, RULESET, Subject, dry_run, test_version


def add_commands(sub) -> None:
    _add(sub, "mappings", MAPPING, ("partner", "doc_type"), "partner mappings: list, versions, show, validate, create, test, dry-run, activate, rollback")
    _add(sub, "rules", RULESET, ("name",), "rulesets: list, versions, show, validate, create, test, dry-run, activate, rollback")


def _add(sub, command: str, subject: Subject, key_names: tuple[str, ...], helptext: str) -> None:
    parser = sub.add_parser(command, help=helptext)
    verbs = parser.add_subparsers(required=True, metavar="ACTION")

    def verb(name: str, helptext: str, run, version: bool = False, body: bool = False):
        action = verbs.add_parser(name, help=helptext)
        for key in key_names:
            action.add_argument(key)
        if version:
            action.add_argument("version", type=int)
        if body:
            action.add_argument("file", type=Path, help="the YAML or JSON file ('-' for standard input)")
        action.set_defaults(run=lambda args: run(subject, _key(args, key_names), args))
        return action

    verbs.add_parser("list", help=f"every {subject.noun} with versions").set_defaults(run=lambda args: _print(versions_of(subject).keys()))
    verb("versions", f"the versions of a {subject.noun}", lambda s, k, a: _print(versions_of(s).list(k)))
    verb("show", "one version with its body", cmd_show, version=True)
    verb("validate", "check a file without storing it", lambda s, k, a: _print(s.validate(make_hub(), k, _read(a.file))), body=True)
    verb("create", "store a file as a new version (not active yet)", cmd_create, body=True)
    test = verb("test", "run a sample file through a version (nothing stored or posted)", cmd_test, version=True)
    test.add_argument("sample", type=Path)
    dry = verb("dry-run", "what a version would change on stored documents (nothing changes)", cmd_dry_run, version=True)
    dry.add_argument("--limit", type=int, default=100)
    if "partner" not in key_names:  # a mapping's partner and type are its key
        test.add_argument("--partner", required=True, help="the sample's sender")
        dry.add_argument("--partner", help="only this partner's documents")
        dry.add_argument("--type", dest="doc_type", help="only documents of this type, e.g. 850")
    verb("activate", "make a version the one workers use", cmd_activate, version=True)
    rollback = verb("rollback", "re-activate an earlier version (default: the one below the active)", cmd_rollback)
    rollback.add_argument("--to", type=int)


def versions_of(subject: Subject):
    from hub.db import make_engine

    return subject.versions(make_engine(Settings().ledger_url))


def cmd_show(subject, key, args) -> int:
    found = versions_of(subject).get(key, args.version)
    body = found.pop("body")
    _print(found)
    print(body if isinstance(body, str) else json.dumps(body, indent=2))
    return 0


def cmd_create(subject, key, args) -> int:
    version = subject.create(make_hub(), key, _read(args.file), shell_actor())
    print(f"stored as version {version} (not active; test it, dry-run it, then activate it)")
    return 0


def cmd_test(subject, key, args) -> int:
    return _print(test_version(make_hub(), subject, key, args.version, args.sample.read_bytes(), key.get("partner_id", args.partner)))


def cmd_dry_run(subject, key, args) -> int:
    found = dry_run(make_hub(), subject, key, args.version, getattr(args, "partner", None), getattr(args, "doc_type", None), limit=args.limit)
    print(f"{found['documents']} documents run through the active version and version {args.version}; {found['changed']} would change")
    for result in found["results"]:
        for change in result["changes"]:
            print(f"  document {result['document_id']} ({result['partner_id']} {result['doc_type']} {result['reference'] or ''}): "
                  f"{change['what']}: {change['active']} -> {change['candidate']}")
    return 0


def cmd_activate(subject, key, args) -> int:
    change = versions_of(subject).activate(key, args.version, shell_actor())
    print(f"version {change['after']} is active (was {change['before']})")
    return 0


def cmd_rollback(subject, key, args) -> int:
    change = versions_of(subject).rollback(key, shell_actor(), args.to)
    print(f"rolled back to version {change['after']} (was {change['before']})")
    return 0


def _key(args, names: tuple[str, ...]) -> dict[str, str]:
    return {"partner_id": args.partner, "doc_type": args.doc_type} if names == ("partner", "doc_type") else {"name": args.name}


def _read(path: Path) -> bytes:
    return sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()


def _print(value) -> int:
    print(json.dumps(value, indent=2, default=str))
    return 0
