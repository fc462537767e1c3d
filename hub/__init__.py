"""The hub's core: ledger, pipeline, mapping, rules. It knows no file format, channel or ERP."""
