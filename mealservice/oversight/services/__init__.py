"""Oversight's rules, a module a concern: the dashboard, early warnings, risk scores,
random inspections and satisfaction."""
