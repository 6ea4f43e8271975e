from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.callback_delivery_state import CallbackDeliveryState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.callback_attempt import CallbackAttempt


T = TypeVar("T", bound="CallbackDelivery")


@_attrs_define
class CallbackDelivery:
    """Where the job's terminal event goes and how its delivery went.

    Attributes:
        url (str): The job's `callback_url`.
        state (CallbackDeliveryState): `pending` until the job finishes and the receiver answers 2xx (`delivered`);
            `failed` once retries ran out (`RA_CALLBACK_GIVE_UP_SECONDS` after the first attempt).
        attempts (list[CallbackAttempt] | Unset): Every POST so far, oldest first.
        next_attempt_at (datetime.datetime | None | Unset): When the next retry is due; null when none is planned.
    """

    url: str
    state: CallbackDeliveryState
    attempts: list[CallbackAttempt] | Unset = UNSET
    next_attempt_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        state = self.state.value

        attempts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.attempts, Unset):
            attempts = []
            for attempts_item_data in self.attempts:
                attempts_item = attempts_item_data.to_dict()
                attempts.append(attempts_item)

        next_attempt_at: None | str | Unset
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        elif isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "url": url,
                "state": state,
            }
        )
        if attempts is not UNSET:
            field_dict["attempts"] = attempts
        if next_attempt_at is not UNSET:
            field_dict["next_attempt_at"] = next_attempt_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.callback_attempt import CallbackAttempt

        d = dict(src_dict)
        url = d.pop("url")

        state = CallbackDeliveryState(d.pop("state"))

        _attempts = d.pop("attempts", UNSET)
        attempts: list[CallbackAttempt] | Unset = UNSET
        if _attempts is not UNSET:
            attempts = []
            for attempts_item_data in _attempts:
                attempts_item = CallbackAttempt.from_dict(attempts_item_data)

                attempts.append(attempts_item)

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at", UNSET))

        callback_delivery = cls(
            url=url,
            state=state,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
        )

        callback_delivery.additional_properties = d
        return callback_delivery

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
