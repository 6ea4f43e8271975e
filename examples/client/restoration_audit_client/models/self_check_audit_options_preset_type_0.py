from enum import StrEnum


class SelfCheckAuditOptionsPresetType0(StrEnum):
    BASICSR_Y = "basicsr-y"
    RGB = "rgb"
    Y_FULL = "y-full"

    def __str__(self) -> str:
        return str(self.value)
