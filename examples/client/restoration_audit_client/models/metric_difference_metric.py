from enum import StrEnum


class MetricDifferenceMetric(StrEnum):
    INVENTED_DETAIL = "invented_detail"
    PERCEPTION = "perception"
    PSNR = "psnr"
    SSIM = "ssim"
    UNCERTAINTY = "uncertainty"

    def __str__(self) -> str:
        return str(self.value)
