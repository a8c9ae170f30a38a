"""telebill: telecom pricing, rating and billing."""

__version__ = "0.1.0"
