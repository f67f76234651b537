# This file is generated from assets/configuration/spec.yaml: do not edit it by hand.
# To change it, edit the spec and run `python scripts/sync_config.py`.

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from typing_extensions import Literal

from datadog_checks.base.utils.functions import identity
from datadog_checks.base.utils.models import validation

from . import defaults, validators


class MetricPatterns(BaseModel):
    model_config = ConfigDict(
        arbitrary_types_allowed=True,
        frozen=True,
    )
    exclude: Optional[tuple[str, ...]] = None
    include: Optional[tuple[str, ...]] = None


class Partition(BaseModel):
    model_config = ConfigDict(
        arbitrary_types_allowed=True,
        frozen=True,
    )
    count: Optional[int] = Field(None, ge=1)
    index: Optional[int] = Field(None, ge=0)


class InstanceConfig(BaseModel):
    model_config = ConfigDict(
        validate_default=True,
        arbitrary_types_allowed=True,
        frozen=True,
    )
    accounts: Optional[tuple[str, ...]] = None
    aws_access_key_id: Optional[str] = None
    aws_profile: Optional[str] = None
    aws_region: Optional[str] = None
    aws_secret_access_key: Optional[str] = None
    aws_session_token: Optional[str] = None
    bucket: Optional[str] = Field(None, min_length=1)
    connect_timeout: Optional[float] = Field(None, gt=0.0)
    cursor_bucket: Optional[str] = None
    cursor_prefix: Optional[str] = None
    cursor_store: Optional[Literal['agent', 's3']] = None
    default_priority: Optional[Literal['normal', 'low']] = None
    disable_generic_tags: Optional[bool] = None
    discovery_interval: Optional[int] = Field(None, ge=0)
    empty_default_hostname: Optional[bool] = None
    enable_legacy_tags_normalization: Optional[bool] = None
    endpoint_url: Optional[str] = None
    external_id: Optional[str] = None
    include_read_only: Optional[bool] = None
    initial_lookback: Optional[int] = Field(None, ge=0, le=64800)
    late_arrival_window: Optional[int] = Field(None, ge=0, le=64800)
    lease_seconds: Optional[int] = Field(None, ge=5)
    logs_exclude_event_names: Optional[tuple[str, ...]] = None
    logs_exclude_event_sources: Optional[tuple[str, ...]] = None
    logs_host: Optional[str] = None
    logs_include_read_only: Optional[bool] = None
    max_attempts: Optional[int] = Field(None, ge=1)
    max_events_per_run: Optional[int] = Field(None, ge=1)
    max_run_seconds: Optional[float] = Field(None, gt=0.0)
    metric_patterns: Optional[MetricPatterns] = None
    min_collection_interval: Optional[float] = None
    normal_priority_services: Optional[tuple[str, ...]] = None
    partition: Optional[Partition] = None
    prefix: Optional[str] = None
    read_timeout: Optional[float] = Field(None, gt=0.0)
    regions: Optional[tuple[str, ...]] = None
    role_arn: Optional[str] = None
    role_session_name: Optional[str] = Field(None, max_length=64, min_length=2)
    send_events: Optional[bool] = None
    send_logs: Optional[bool] = None
    service: Optional[str] = None
    tags: Optional[tuple[str, ...]] = None
    trail_name: Optional[str] = None
    trails: Optional[tuple[str, ...]] = Field(None, min_length=1)
    workers: Optional[int] = Field(None, ge=1)

    @model_validator(mode='before')
    def _initial_validation(cls, values):
        return validation.core.initialize_config(getattr(validators, 'initialize_instance', identity)(values))

    @field_validator('*', mode='before')
    def _validate(cls, value, info):
        field = cls.model_fields[info.field_name]
        field_name = field.alias or info.field_name
        if field_name in info.context['configured_fields']:
            value = getattr(validators, f'instance_{info.field_name}', identity)(value, field=field)
        else:
            value = getattr(defaults, f'instance_{info.field_name}', lambda: value)()

        return validation.utils.make_immutable(value)

    @model_validator(mode='after')
    def _final_validation(cls, model):
        return validation.core.check_model(getattr(validators, 'check_instance', identity)(model))
