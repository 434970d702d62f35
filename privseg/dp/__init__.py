"""Differential privacy: mechanisms, releases and the privacy-budget ledger."""
