"""elastic-inference's CrossGuard policy pack (see policies.py)."""
