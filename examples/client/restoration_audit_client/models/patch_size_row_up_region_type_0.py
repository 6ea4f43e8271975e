from enum import StrEnum


class PatchSizeRowUpRegionType0(StrEnum):
    ABOVE_BOUND = "above_bound"
    BELOW_BOUND = "below_bound"
    ON_BOUND = "on_bound"

    def __str__(self) -> str:
        return str(self.value)
