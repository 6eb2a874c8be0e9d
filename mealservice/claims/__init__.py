"""Reconciliation: what each canteen's seats were used for, and the monthly subsidy
claims district officials review, with their anomaly checks, decisions and exports."""
