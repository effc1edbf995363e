"""govgate: a policy-as-code governance gate."""

__version__ = "0.1.0"
