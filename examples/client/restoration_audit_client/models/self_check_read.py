from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.self_check_read_state import SelfCheckReadState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_progress import JobProgress
    from ..models.problem import Problem
    from ..models.self_check_create import SelfCheckCreate
    from ..models.self_check_links import SelfCheckLinks
    from ..models.self_check_result import SelfCheckResult


T = TypeVar("T", bound="SelfCheckRead")


@_attrs_define
class SelfCheckRead:
    """The status monitor of one self-check; ``result`` once it succeeded.

    Attributes:
        id (str):
        state (SelfCheckReadState):
        created_at (datetime.datetime):
        progress (JobProgress): Pairs audited so far out of all pairs of the job.
        links (SelfCheckLinks): Where to poll, cancel, and read the engine's report (also under ``/v1/jobs``).
        started_at (datetime.datetime | None | Unset):
        finished_at (datetime.datetime | None | Unset):
        cancel_requested (bool | Unset):  Default: False.
        error (None | Problem | Unset):
        request (None | SelfCheckCreate | Unset):
        result (None | SelfCheckResult | Unset):
    """

    id: str
    state: SelfCheckReadState
    created_at: datetime.datetime
    progress: JobProgress
    links: SelfCheckLinks
    started_at: datetime.datetime | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    cancel_requested: bool | Unset = False
    error: None | Problem | Unset = UNSET
    request: None | SelfCheckCreate | Unset = UNSET
    result: None | SelfCheckResult | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.problem import Problem
        from ..models.self_check_create import SelfCheckCreate
        from ..models.self_check_result import SelfCheckResult

        id = self.id

        state = self.state.value

        created_at = self.created_at.isoformat()

        progress = self.progress.to_dict()

        links = self.links.to_dict()

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        cancel_requested = self.cancel_requested

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, Problem):
            error = self.error.to_dict()
        else:
            error = self.error

        request: dict[str, Any] | None | Unset
        if isinstance(self.request, Unset):
            request = UNSET
        elif isinstance(self.request, SelfCheckCreate):
            request = self.request.to_dict()
        else:
            request = self.request

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, SelfCheckResult):
            result = self.result.to_dict()
        else:
            result = self.result

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "state": state,
                "created_at": created_at,
                "progress": progress,
                "links": links,
            }
        )
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if cancel_requested is not UNSET:
            field_dict["cancel_requested"] = cancel_requested
        if error is not UNSET:
            field_dict["error"] = error
        if request is not UNSET:
            field_dict["request"] = request
        if result is not UNSET:
            field_dict["result"] = result

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_progress import JobProgress
        from ..models.problem import Problem
        from ..models.self_check_create import SelfCheckCreate
        from ..models.self_check_links import SelfCheckLinks
        from ..models.self_check_result import SelfCheckResult

        d = dict(src_dict)
        id = d.pop("id")

        state = SelfCheckReadState(d.pop("state"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        progress = JobProgress.from_dict(d.pop("progress"))

        links = SelfCheckLinks.from_dict(d.pop("links"))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))

        cancel_requested = d.pop("cancel_requested", UNSET)

        def _parse_error(data: object) -> None | Problem | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = Problem.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Problem | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_request(data: object) -> None | SelfCheckCreate | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                request_type_0 = SelfCheckCreate.from_dict(data)

                return request_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SelfCheckCreate | Unset, data)

        request = _parse_request(d.pop("request", UNSET))

        def _parse_result(data: object) -> None | SelfCheckResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = SelfCheckResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SelfCheckResult | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        self_check_read = cls(
            id=id,
            state=state,
            created_at=created_at,
            progress=progress,
            links=links,
            started_at=started_at,
            finished_at=finished_at,
            cancel_requested=cancel_requested,
            error=error,
            request=request,
            result=result,
        )

        self_check_read.additional_properties = d
        return self_check_read

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
