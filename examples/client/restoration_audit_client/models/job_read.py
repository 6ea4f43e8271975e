from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_read_kind import JobReadKind
from ..models.job_read_state import JobReadState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.callback_delivery import CallbackDelivery
    from ..models.job_links import JobLinks
    from ..models.job_progress import JobProgress
    from ..models.problem import Problem


T = TypeVar("T", bound="JobRead")


@_attrs_define
class JobRead:
    """The status monitor of one job.

    Attributes:
        id (str):
        state (JobReadState):
        created_at (datetime.datetime):
        progress (JobProgress): Pairs audited so far out of all pairs of the job.
        links (JobLinks): Where to poll, fetch the report and cancel (absolute or root-relative URLs).
        started_at (datetime.datetime | None | Unset):
        finished_at (datetime.datetime | None | Unset):
        cancel_requested (bool | Unset):  Default: False.
        error (None | Problem | Unset):
        kind (JobReadKind | Unset):  Default: JobReadKind.AUDIT.
        callback (CallbackDelivery | None | Unset): The job's webhook and its delivery attempts, when it named a
            `callback_url` (README: Webhooks).
    """

    id: str
    state: JobReadState
    created_at: datetime.datetime
    progress: JobProgress
    links: JobLinks
    started_at: datetime.datetime | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    cancel_requested: bool | Unset = False
    error: None | Problem | Unset = UNSET
    kind: JobReadKind | Unset = JobReadKind.AUDIT
    callback: CallbackDelivery | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.callback_delivery import CallbackDelivery
        from ..models.problem import Problem

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

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        callback: dict[str, Any] | None | Unset
        if isinstance(self.callback, Unset):
            callback = UNSET
        elif isinstance(self.callback, CallbackDelivery):
            callback = self.callback.to_dict()
        else:
            callback = self.callback

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
        if kind is not UNSET:
            field_dict["kind"] = kind
        if callback is not UNSET:
            field_dict["callback"] = callback

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.callback_delivery import CallbackDelivery
        from ..models.job_links import JobLinks
        from ..models.job_progress import JobProgress
        from ..models.problem import Problem

        d = dict(src_dict)
        id = d.pop("id")

        state = JobReadState(d.pop("state"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        progress = JobProgress.from_dict(d.pop("progress"))

        links = JobLinks.from_dict(d.pop("links"))

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

        _kind = d.pop("kind", UNSET)
        kind: JobReadKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = JobReadKind(_kind)

        def _parse_callback(data: object) -> CallbackDelivery | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                callback_type_0 = CallbackDelivery.from_dict(data)

                return callback_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CallbackDelivery | None | Unset, data)

        callback = _parse_callback(d.pop("callback", UNSET))

        job_read = cls(
            id=id,
            state=state,
            created_at=created_at,
            progress=progress,
            links=links,
            started_at=started_at,
            finished_at=finished_at,
            cancel_requested=cancel_requested,
            error=error,
            kind=kind,
            callback=callback,
        )

        job_read.additional_properties = d
        return job_read

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
