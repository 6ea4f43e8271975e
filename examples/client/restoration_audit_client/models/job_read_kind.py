from enum import StrEnum


class JobReadKind(StrEnum):
    AUDIT = "audit"
    SELFCHECK = "selfcheck"

    def __str__(self) -> str:
        return str(self.value)
