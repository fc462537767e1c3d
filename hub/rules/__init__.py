"""Policies as data: rulesets in durable-rules' own form, actions from a fixed whitelist."""
