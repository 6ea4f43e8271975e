from enum import StrEnum


class SelfCheckSourceSpectrum(StrEnum):
    DEFAULT = "default"
    FITTED = "fitted"

    def __str__(self) -> str:
        return str(self.value)
