"""The rules engine: durable-rules behind the hub's own interface, with its sharp edges guarded.

A ruleset file (rules/*.yaml) holds a name, a version and `rules` in durable-rules' own ruleset
form, where each rule's `run` is a whitelisted action (hub.rules.actions):

    name: pricing
    version: 1
    rules:
      contract_price:
        all: [{m: {$and: [{kind: line}, {has_contract: true}]}}]
        run: set_price(contract)

Evaluation asserts a document's facts as one batch in a fresh session and returns the decisions
(rule, action, the fact it matched) in a stable order. Guards, each for a measured defect of
durable-rules 2.0.28 (see shared/notes/libraries.md):

- the background dispatcher threads are never started (they crash with several caller threads);
  calls are serialised with one lock per process;
- a catch-all rule is added to every ruleset, because a batch with a fact no rule matches raises
  before the other facts' actions run;
- each evaluation uses its own session id and deletes its state afterwards (1024 live sessions
  per ruleset raise MemoryError);
- rule counts, `$nex`-only conditions and fact sizes that hang or break the engine are refused
  before they reach it; `trial_load` loads a ruleset in a subprocess with a timeout;
- each version is registered under its own name (`pricing@3`), as there is no update.

Decisions are a pure function of (ruleset version, fact), so they are memoised per fact: the
same line facts, which orders repeat all day, are evaluated once.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from durable import engine as durable_engine

from hub.errors import ConfigurationError
from hub.rules.actions import Action, parse_action

MAX_RULES = 256  # create_ruleset hangs past 512; leave room
MAX_FACT_PROPERTIES = 200  # error 302 at ~253
MAX_IDENTICAL_CONDITIONS = 200  # error 108 past 256
CATCH_ALL = "__seen__"
_MEMO_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class Decision:
    ruleset: str
    version: int
    rule: str
    action: Action
    fact: dict[str, Any]

    def trace(self) -> dict[str, Any]:
        return {
            "ruleset": self.ruleset,
            "version": self.version,
            "rule": self.rule,
            "action": str(self.action),
            "inputs": self.fact,
        }


@dataclass(slots=True)
class Ruleset:
    name: str
    version: int
    rules: dict[str, dict[str, Any]]
    actions: dict[str, Action] = field(default_factory=dict)
    sha256: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def body(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "rules": self.rules}


def parse_ruleset(body: Any, where: str) -> Ruleset:
    """Check a ruleset's shape and actions statically; raise ConfigurationError saying where."""
    if not isinstance(body, dict):
        raise ConfigurationError(f"{where}: a ruleset is a mapping with name, version and rules")
    name, version, rules = body.get("name"), body.get("version"), body.get("rules")
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigurationError(f"{where}: name must be a plain word, got {name!r}")
    if not isinstance(version, int) or version < 1:
        raise ConfigurationError(f"{where}: version must be a positive whole number, got {version!r}")
    if not isinstance(rules, dict) or not rules:
        raise ConfigurationError(f"{where}: rules must be a non-empty mapping of rule name to rule")
    if len(rules) > MAX_RULES:
        raise ConfigurationError(f"{where}: {len(rules)} rules; at most {MAX_RULES} are allowed")
    conditions: list[str] = []
    for rule_name, rule in rules.items():
        at = f"{where}: rule {rule_name!r}"
        if not isinstance(rule, dict) or "run" not in rule or not ({"all", "any"} & rule.keys()):
            raise ConfigurationError(f"{at} needs `all` or `any` conditions and a `run` action")
        if set(rule) - {"all", "any", "run", "pri", "count", "cap", "dist"}:
            raise ConfigurationError(f"{at} has unknown keys {sorted(set(rule) - {'all', 'any', 'run'})}")
        for branch in rule.get("all", []) + rule.get("any", []):
            _check_condition(branch, at)
            conditions.append(json.dumps(branch, sort_keys=True))
    actions = parse_actions(rules, where)
    most = max((conditions.count(c) for c in set(conditions)), default=0)
    if most > MAX_IDENTICAL_CONDITIONS:
        raise ConfigurationError(f"{where}: {most} identical conditions; at most {MAX_IDENTICAL_CONDITIONS}")
    sha = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return Ruleset(name, version, copy.deepcopy(rules), actions, sha)


def parse_actions(rules: dict[str, Any], where: str) -> dict[str, Action]:
    """Each rule's `run`, resolved against the whitelist."""
    return {name: parse_action(rule.get("run"), f"{where}: rule {name!r}") for name, rule in rules.items()}


def _check_condition(branch: Any, at: str) -> None:
    if not isinstance(branch, dict) or not branch:
        raise ConfigurationError(f"{at}: each condition is a mapping like {{m: {{...}}}}")
    for expression in branch.values():
        if isinstance(expression, dict) and set(expression) == {"$nex"}:
            # durable-rules spins at 100% CPU on a branch that only tests absence
            raise ConfigurationError(f"{at}: a condition cannot test only that a field is absent ($nex); add a positive test")


def load_ruleset_file(path: Path) -> Ruleset:
    try:
        body = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read ruleset {path}: {exc}") from exc
    return parse_ruleset(body, str(path))


def load_ruleset_dir(directory: Path) -> list[Ruleset]:
    return [load_ruleset_file(p) for p in sorted(directory.glob("*.yaml"))]


class _QuietHost(durable_engine.Host):
    """A durable-rules host with no background threads and actions only from our table."""

    def __init__(self, resolve):
        self._resolve = resolve
        super().__init__()

    def _run(self):  # the timer threads that dispatch queued work: we never queue any
        pass

    def get_action(self, action_name):
        return self._resolve(action_name)


class RuleEngine:
    """Evaluates documents' facts against the active version of each ruleset."""

    def __init__(self, rulesets: list[Ruleset]):
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._fired: list[tuple[str, dict]] = []
        self._memo: dict[tuple, list[tuple[str, Action]]] = {}
        self._active: dict[str, Ruleset] = {}
        self._host = _QuietHost(self._action_for)
        for ruleset in rulesets:
            self.activate(ruleset)

    def _action_for(self, rule_name: str):
        fired = self._fired

        def record(c):
            fired.append((rule_name, dict(c.m.items())))

        return record

    def activate(self, ruleset: Ruleset) -> None:
        definition = {rule: {**body, "run": rule} for rule, body in ruleset.rules.items()}
        definition[CATCH_ALL] = {"all": [{"m": {"$ex": {"kind": 1}}}], "run": CATCH_ALL}
        with self._lock:
            if ruleset.key not in self._host._ruleset_directory:
                self._host.set_rulesets({ruleset.key: definition})
            self._active[ruleset.name] = ruleset

    def variant(self, rulesets: list[Ruleset]) -> RuleEngine:
        """An engine whose active set is this one's with `rulesets` in place (for trying a version
        before it is activated); it shares this engine's durable-rules host, lock and memo."""
        other = copy.copy(self)
        other._active = dict(self._active)
        for ruleset in rulesets:
            other.activate(ruleset)
        return other

    def ruleset(self, name: str) -> Ruleset:
        try:
            return self._active[name]
        except KeyError:
            raise ConfigurationError(f"no active ruleset named {name!r}; loaded: {sorted(self._active)}") from None

    def queue_for(self, name: str, code: str) -> str | None:
        """The queue that ruleset `name` sends hold `code` to (its `hold(code, queue)` rule), or None."""
        for action in self.ruleset(name).actions.values():
            if action.name == "hold" and action.args[0] == code:
                return action.args[1]
        return None

    def evaluate(self, name: str, facts: list[dict[str, Any]]) -> list[Decision]:
        """Decisions for `facts` (each needs a `kind` and an `id` unique in the batch).

        Returned in fact order, then rule order of the ruleset file."""
        ruleset = self.ruleset(name)
        keys = [self._memo_key(ruleset, fact) for fact in facts]
        fired = {key: self._memo.get(key) for key in keys}
        missing = {key: fact for key, fact in zip(keys, facts) if fired[key] is None}
        if missing:
            fired.update(self._evaluate_uncached(ruleset, missing))
        return [Decision(ruleset.name, ruleset.version, rule, action, fact) for key, fact in zip(keys, facts) for rule, action in fired[key]]

    @staticmethod
    def _memo_key(ruleset: Ruleset, fact: dict[str, Any]) -> tuple:
        """The fact without its id, as a hashable key, its properties in the order the fact has
        them (facts are built the same way each time; one built in another order is only
        evaluated again). A value's type is part of it: durable-rules tells True from 1, which
        Python's == does not."""
        if len(fact) > MAX_FACT_PROPERTIES:
            raise ConfigurationError(f"a fact for {ruleset.key} has {len(fact)} properties; at most {MAX_FACT_PROPERTIES}")
        try:
            content = tuple((k, v.__class__, v) for k, v in fact.items() if k != "id")
            hash(content)
        except TypeError:  # a list or a dict among the values
            content = json.dumps({k: v for k, v in fact.items() if k != "id"}, sort_keys=True, default=str)
        return ruleset.key, content

    def _evaluate_uncached(self, ruleset: Ruleset, facts_by_key: dict[tuple, dict]) -> dict[tuple, list[tuple[str, Action]]]:
        """The rules each fact fires, in the ruleset's order, by memo key; remembered."""
        with self._lock:
            sid = f"e{next(self._sessions)}"
            batch = []
            for index, fact in enumerate(facts_by_key.values()):
                as_json = json.loads(json.dumps(fact, default=str))  # what durable-rules can hold: Decimal as text
                batch.append({**as_json, "id": f"f{index}", "sid": sid})
            self._fired.clear()
            try:
                self._host.assert_facts(ruleset.key, batch)
                state = self._host.get_state(ruleset.key, sid)
            finally:
                self._host.delete_state(ruleset.key, sid)
            if state.get("exception"):
                raise ConfigurationError(f"ruleset {ruleset.key} failed while evaluating: {state['exception']}")
            by_fact: dict[str, list[tuple[str, Action]]] = {f["id"]: [] for f in batch}
            for rule, matched in self._fired:
                if rule != CATCH_ALL:
                    by_fact[matched["id"]].append((rule, ruleset.actions[rule]))
            self._fired.clear()
        order = {rule: i for i, rule in enumerate(ruleset.rules)}
        fired = {key: sorted(by_fact[f"f{index}"], key=lambda ra: order[ra[0]]) for index, key in enumerate(facts_by_key)}
        if len(self._memo) > _MEMO_LIMIT:
            self._memo.clear()
        self._memo.update(fired)
        return fired


def trial_load(ruleset: Ruleset, sample_facts: list[dict[str, Any]], timeout: float = 10.0) -> list[str]:
    """Load and evaluate a ruleset in a subprocess; problems found (a hang becomes a problem).

    A ruleset version is checked this way before it is activated, so a rule that hangs
    durable-rules hangs a throwaway process, not a worker."""
    payload = json.dumps({"ruleset": ruleset.body(), "facts": sample_facts})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hub.rules.trial"], input=payload, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return [f"ruleset {ruleset.key} did not load and evaluate within {timeout:g} s; it would hang the engine"]
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"ruleset {ruleset.key} failed to load: {last}"]
    return []
