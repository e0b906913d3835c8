"""The review capability: the API and page, the Lambda behind them, reviewers' sign-in, and its grants."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from contracts import inventory_schema
from contracts.deployment_settings import Settings
from contracts.review_environment import review_environment
from stacks import nag
from stacks.review.review_api import ReviewApi
from stacks.review.review_function import ReviewFunction
from stacks.review.sign_in import ReviewerSignIn
from stacks.storage.buckets import StorageBuckets
from stacks.storage.tables import InventoryTablesConstruct

# The review shows the counted photos: those the counting Lambda reads, not the ABID metadata beside them.
PHOTO_PREFIXES = inventory_schema.NOTIFIED_PREFIXES


class ReviewConstruct(Construct):
    """Reviewers open the page, sign in and resolve flagged bins; each resolution goes out on `event_bus`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        buckets: StorageBuckets,
        tables: InventoryTablesConstruct,
        event_bus: events.IEventBus,
        log_removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        retention = settings.counting.log_retention_days
        self.api = ReviewApi(
            self, "Http", log_retention_days=retention, log_removal_policy=log_removal_policy
        )
        self.sign_in = ReviewerSignIn(
            self, "SignIn", stage=settings.stage, callback_url=self.api.url, removal_policy=log_removal_policy
        )
        self.function = ReviewFunction(
            self,
            "Function",
            log_retention_days=retention,
            log_removal_policy=log_removal_policy,
            environment=review_environment(
                inventory_table=tables.inventory.table_name,
                bin_state_table=tables.bin_state.table_name,
                ingest_bucket=buckets.ingest.bucket_name,
                event_bus_name=event_bus.event_bus_name,
                sign_in_url=self.sign_in.hosted_ui_url,
                sign_in_client_id=self.sign_in.client.user_pool_client_id,
            ),
        )
        self.authorizer = self.api.route_to(
            self.function.function, user_pool=self.sign_in.user_pool, client=self.sign_in.client
        )
        function = self.function.function
        tables.grant_reviewing(function)
        buckets.grant_read_photos(
            function,
            prefixes=PHOTO_PREFIXES,
            reason="The review Lambda presigns GETs of the flagged photos the page shows; their keys are the "
            "uploaders', and the grant is limited to the incoming/ and bin-images/ prefixes.",
        )
        event_bus.grant_put_events_to(function)
        nag.acknowledge_wildcard_resource(
            self.function.role,
            f"{tables.inventory.table_arn}/index/*",
            "The review queue (review-queue index) and the flags raised per week (by-status index) are "
            "Queries on the inventory table's indexes; Table.grant names them all as index/*.",
        )
