"""The functional group (X12 GS01) each transaction set (ST01) belongs in: what the reader checks
of the groups it reads (adapters/x12) and what a partner's acknowledgment names (AK101) for a
document we sent (hub.flows.acknowledgments)."""

GROUP_OF_SET = {
    "850": "PO", "855": "PR", "856": "SH", "810": "IN", "860": "PC", "865": "CA", "820": "RA",
    "830": "PS", "832": "SC", "846": "IB", "940": "OW", "945": "SW", "997": "FA", "999": "FA",
    "204": "SM", "214": "QM", "990": "GF",
}
