"""Policies: the policy set the gate loads (policy_set), and the jobs on it: Rego unit tests (test),
static checks (lint), loading an OPA server (push) and replaying logged decisions (replay)."""
