from enum import StrEnum


class JobCreateOptionsColor(StrEnum):
    RGB = "rgb"
    Y = "y"
    Y_FULL = "y_full"

    def __str__(self) -> str:
        return str(self.value)
