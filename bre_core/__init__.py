"""bre: compare general and biomedical language models on biomedical relation extraction."""

__version__ = "0.1.0"
