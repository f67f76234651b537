# This file is generated from assets/configuration/spec.yaml: do not edit it by hand.
# To change it, edit the spec and run `python scripts/sync_config.py`.


def instance_aws_region():
    return 'us-east-1'


def instance_connect_timeout():
    return 10


def instance_cursor_prefix():
    return 'datadog-cloudtrail/'


def instance_cursor_store():
    return 'agent'


def instance_default_priority():
    return 'low'


def instance_disable_generic_tags():
    return False


def instance_discovery_interval():
    return 300


def instance_empty_default_hostname():
    return False


def instance_enable_legacy_tags_normalization():
    return True


def instance_include_read_only():
    return False


def instance_initial_lookback():
    return 3600


def instance_late_arrival_window():
    return 7200


def instance_lease_seconds():
    return 300


def instance_logs_include_read_only():
    return True


def instance_max_attempts():
    return 5


def instance_max_events_per_run():
    return 20000


def instance_max_run_seconds():
    return 45


def instance_min_collection_interval():
    return 60


def instance_normal_priority_services():
    return [
        'apigateway',
        'autoscaling',
        'cloudformation',
        'cloudfront',
        'cloudsearch',
        'cloudtrail',
        'codedeploy',
        'codepipeline',
        'config',
        'datapipeline',
        'ds',
        'ec2',
        'ecs',
        'elasticache',
        'elasticbeanstalk',
        'elasticfilesystem',
        'elasticloadbalancing',
        'elasticmapreduce',
        'iam',
        'kinesis',
        'lambda',
        'monitoring',
        'opsworks',
        'rds',
        'redshift',
        'route53',
        's3',
        'ses',
        'signin',
        'ssm',
    ]


def instance_prefix():
    return ''


def instance_read_timeout():
    return 30


def instance_role_session_name():
    return 'datadog-cloudtrail'


def instance_send_events():
    return True


def instance_send_logs():
    return False


def instance_workers():
    return 8
