"""Finance's reconciliation reports: what they are (model), what each one reads (one module per
report, listed in catalog), and how they are written (render). Nothing is imported here, so that
hub.erp can name the ERP's side (erp_books) without pulling the reports in."""
