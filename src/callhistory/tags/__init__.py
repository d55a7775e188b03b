"""The tenant's tag catalogue: list, create, rename, delete."""
