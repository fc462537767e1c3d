"""Subprocess entry for `hub.rules.engine.trial_load`: load one ruleset into durable-rules and
evaluate sample facts. The parent has done the static checks; this finds what only running
finds (a hang kills this process, not a worker)."""

import json
import sys

from hub.rules.engine import RuleEngine, Ruleset, parse_actions


def main() -> None:
    payload = json.load(sys.stdin)
    body = payload["ruleset"]
    ruleset = Ruleset(body["name"], body["version"], body["rules"], parse_actions(body["rules"], "trial"))
    engine = RuleEngine([ruleset])
    if payload["facts"]:
        engine.evaluate(ruleset.name, payload["facts"])


if __name__ == "__main__":
    main()
