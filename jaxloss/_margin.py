"""(not implemented yet)."""

__all__: list[str] = []
