"""An encrypted SNS topic that CloudWatch alarms and EventBridge rules can publish to."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# AWS-managed keys cannot be used by these service principals, so the topic gets its own key.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class NotificationTopic(Construct):
    """SNS topic with a customer-managed KMS key, SSL-only access and an optional e-mail subscriber."""

    def __init__(self, scope: Construct, construct_id: str, *, display_name: str, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {display_name} SNS topic",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(7),
        )
        account = cdk.Stack.of(self).account
        # Only on this account's behalf: another account's alarm or rule cannot use the key (confused deputy).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self, "Topic", display_name=display_name, master_key=self.key, enforce_ssl=True
        )
        # The SSL-only topic policy replaces SNS's default one, so the publishers are allowed explicitly.
        for service in PUBLISHING_SERVICES:
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
