"""digest: topic newsletter digests, each subscriber at their own local hour, exactly once."""

__version__ = "0.1.0"
