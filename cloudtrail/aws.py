"""boto3 clients for the check: one session, the credential chain or an assumed role, retries, per-region S3."""

import logging
import threading

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from .problems import Problem, explain

# botocore's DEBUG lines carry secrets: request headers (X-Amz-Security-Token), the canonical request it signs,
# AssumeRole's request (ExternalId) and response body (the role session's keys). The Agent logs every Python
# logger at its own level, so at `log_level: debug` they would land in agent.log.
_CHATTY_LOGGERS = ('botocore',)


def keep_secrets_out_of_logs():
    """Hold botocore's loggers at INFO or above, whatever the Agent's log level."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logger.level))


class AwsClients:
    """Builds and caches boto3 clients.

    boto3 sessions are not thread-safe but its clients are: clients are created under a lock and
    then shared by the reader threads.
    """

    def __init__(self, config, pool_size=10):
        keep_secrets_out_of_logs()
        self._config = config
        self._lock = threading.Lock()
        self._clients = {}
        self._botocore_config = Config(
            retries={'mode': 'standard', 'total_max_attempts': config.max_attempts},
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_pool_connections=max(pool_size, 10),
            user_agent_extra='datadog-cloudtrail-check',
            # CPU on the hot path (about 2 ms per GET): the check builds its own requests, and gzip's CRC
            # already verifies every object it reads.
            parameter_validation=False,
            response_checksum_validation='when_required',
        )
        self._session = self._base_session()
        if config.role_arn:
            self._session = self._assumed_role_session()

    def client(self, service, region=None):
        region = region or self._config.aws_region
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                kwargs = {'region_name': region, 'config': self._botocore_config}
                # Only pass an endpoint when configured, so that boto3's own AWS_ENDPOINT_URL[_S3] settings apply.
                if self._config.endpoint_url:
                    kwargs['endpoint_url'] = self._config.endpoint_url
                self._clients[key] = self._session.client(service, **kwargs)
            return self._clients[key]

    def _base_session(self):
        cfg = self._config
        return boto3.Session(
            aws_access_key_id=cfg.aws_access_key_id,
            aws_secret_access_key=cfg.aws_secret_access_key,
            aws_session_token=cfg.aws_session_token,
            profile_name=cfg.aws_profile,
            region_name=cfg.aws_region,
        )

    def _assumed_role_session(self):
        cfg = self._config
        sts_kwargs = {'region_name': cfg.aws_region, 'config': self._botocore_config}
        if cfg.endpoint_url:
            sts_kwargs['endpoint_url'] = cfg.endpoint_url
        sts = self._session.client('sts', **sts_kwargs)

        def fetch():
            params = {'RoleArn': cfg.role_arn, 'RoleSessionName': cfg.role_session_name}
            if cfg.external_id:
                params['ExternalId'] = cfg.external_id
            try:
                creds = sts.assume_role(**params)['Credentials']
            except Exception as e:
                raise Problem(explain(e, f'assuming role {cfg.role_arn}')) from None
            return {
                'access_key': creds['AccessKeyId'],
                'secret_key': creds['SecretAccessKey'],
                'token': creds['SessionToken'],
                'expiry_time': creds['Expiration'].isoformat(),
            }

        # Refreshable: a long-running Agent outlives the role session (one hour by default).
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=fetch(), refresh_using=fetch, method='sts-assume-role'
        )
        core = botocore.session.get_session()
        core._credentials = credentials
        return boto3.Session(botocore_session=core, region_name=cfg.aws_region)
