"""The training state machine: one training job or a tuning job, then publish the best job as a model package.

Query language JSONata throughout: it can merge and filter the input's hyperparameters and turn
the job's final metrics into the model package's metadata, which JSONPath cannot.
Input contract: docs/ARCHITECTURE.md, "Training state machine input".
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from contracts.deployment_settings import Settings
from stacks import checkov, nag
from stacks.training_pipeline import job_requests
from stacks.training_pipeline.job_requests import TrainingJobTemplate, jsonata

# Training job names allow 63 characters, tuning job names 32: both derive from the execution name.
_SAFE_EXECUTION_NAME = "$replace($states.context.Execution.Name, /[^A-Za-z0-9-]/, '-')"
TRAINING_JOB_NAME = jsonata(f"$substring({_SAFE_EXECUTION_NAME}, 0, 57) & '-train'")
TUNING_JOB_NAME = jsonata(f"$substring({_SAFE_EXECUTION_NAME}, 0, 27) & '-tune'")
# The input's manifest dataset (`{"name", "input_mode"}`), or nothing: then the dataset bucket's prefixes.
INPUT_MANIFEST = jsonata("$states.input.manifest")
# The input's hyperparameters, minus those the tuner chooses (SageMaker rejects a name in both).
_UNTUNED_INPUT_HYPERPARAMETERS = (
    "$sift($states.input.hyperparameters, function($value, $name) "
    "{ $not($name in $states.input.tuning.parameter_ranges.*.Name) })"
)

# SageMaker quotas (instances per type, concurrent jobs) and API throttling clear with time. Nothing else is
# retried: `SageMaker.AmazonSageMakerException` (and the SDK's base `SageMakerException`) name every SageMaker
# error, a ValidationException included, and a retried Create* would only be refused again (its job name is
# taken or its request is still wrong).
QUOTA_ERRORS = ["SageMaker.ResourceLimitExceededException"]
THROTTLING_ERRORS = ["SageMaker.ThrottlingException"]

FINISHED_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
UNKNOWN_STARTER = "unknown"


class TrainingPipeline(Construct):
    """The state machine, the model package group it publishes to, and its run notifications."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        job_template: TrainingJobTemplate,
        inference_image_uri: str,
        notifications: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = cdk.Stack.of(self)
        removal = cdk.RemovalPolicy.RETAIN if settings.storage.retain else cdk.RemovalPolicy.DESTROY
        # Named: the CLI and `cdk deploy -c model_package_arn=...` refer to it across deployments.
        self.model_package_group_name = f"binventory-{settings.stage}-countnet"
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.model_package_group_name,
            model_package_group_description="CountNet models published by the Binventory training pipeline",
        )
        self.model_package_group.apply_removal_policy(removal)

        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=removal)
        checkov.skip(
            log_group,
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; these execution logs hold job names, "
            "hyperparameters and S3 URIs, no secrets, so a customer key would add cost and a key policy "
            "only.",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                self._steps(settings, job_template, inference_image_uri)
            ),
            query_language=sfn.QueryLanguage.JSONATA,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self._grant_job_states()
        self._notify_when_finished(notifications)

    def _steps(
        self, settings: Settings, job_template: TrainingJobTemplate, inference_image_uri: str
    ) -> sfn.IChainable:
        """Tune? -> a tuning job or one training job -> describe the best job -> publish it."""
        group_name = self.model_package_group_name
        initialise = sfn.Pass.jsonata(
            self,
            "Set SageMaker hyperparameters",
            assign={"sagemakerHyperparameters": job_template.sagemaker_hyperparameters()},
        )
        prepare = sfn.Pass.jsonata(
            self,
            "Name jobs and merge hyperparameters",
            assign={
                "trainingJobName": TRAINING_JOB_NAME,
                "tuningJobName": TUNING_JOB_NAME,
                "tune": jsonata("$states.input.tune = true"),
                # Who started the run (`binventory train start` sends its caller): a manual approval
                # gate needs an approver who is someone else (`binventory model approve`).
                "startedBy": jsonata(
                    f"$exists($states.input.started_by) ? $states.input.started_by : '{UNKNOWN_STARTER}'"
                ),
                "tuning": jsonata("$states.input.tuning"),
                "hyperparameters": jsonata(
                    "$merge([$states.input.hyperparameters, $sagemakerHyperparameters])"
                ),
                "staticHyperparameters": jsonata(
                    f"$merge([{_UNTUNED_INPUT_HYPERPARAMETERS}, $sagemakerHyperparameters])"
                ),
            },
        )
        train = self._sagemaker_job_state(
            "Train",
            "createTrainingJob",
            job_requests.training_job_request(
                job_template,
                job_name=jsonata("$trainingJobName"),
                hyperparameters=jsonata("$hyperparameters"),
                manifest=INPUT_MANIFEST,
            ),
            assign={"bestTrainingJobName": jsonata("$states.result.TrainingJobName")},
        )
        tune = self._sagemaker_job_state(
            "Tune hyperparameters",
            "createHyperParameterTuningJob",
            job_requests.tuning_job_request(
                job_template,
                job_name=jsonata("$tuningJobName"),
                static_hyperparameters=jsonata("$staticHyperparameters"),
                tuning=jsonata("$tuning"),
                manifest=INPUT_MANIFEST,
            ),
            assign={"bestTrainingJobName": jsonata("$states.result.BestTrainingJob.TrainingJobName")},
        )
        describe = tasks.CallAwsService.jsonata(
            self,
            "Describe best training job",
            service="sagemaker",
            action="describeTrainingJob",
            parameters={"TrainingJobName": jsonata("$bestTrainingJobName")},
            iam_resources=[self._arn("training-job", "*")],
        )
        publish = tasks.CallAwsService.jsonata(
            self,
            "Publish model package",
            service="sagemaker",
            action="createModelPackage",
            parameters=job_requests.model_package_request(
                group_name=group_name,
                approval_status=settings.training.model_approval_status,
                image_uri=inference_image_uri,
                framework_version=settings.training.framework_version,
                region=settings.region,
                endpoint=settings.endpoint,
                training_job=jsonata("$states.input"),
                started_by=jsonata("$startedBy"),
            ),
            iam_resources=[
                self._arn("model-package", f"{group_name}/*"),
                self._arn("model-package-group", group_name),
            ],
            outputs={
                "ModelPackageArn": jsonata("$states.result.ModelPackageArn"),
                "TrainingJobName": jsonata("$bestTrainingJobName"),
            },
        )
        for task in (describe, publish):
            task.add_retry(
                errors=THROTTLING_ERRORS, interval=cdk.Duration.seconds(5), backoff_rate=2, max_attempts=5
            )

        # Choose first: a tuning run's trials are its training jobs, so it starts no training job of its own.
        choose = sfn.Choice.jsonata(self, "Tune?")
        choose.when(sfn.Condition.jsonata(jsonata("$tune")), tune.next(describe))
        choose.otherwise(train.next(describe))
        describe.next(publish)
        return initialise.next(prepare).next(choose)

    def _sagemaker_job_state(
        self, name: str, action: str, arguments: dict[str, object], *, assign: dict[str, str]
    ) -> sfn.CustomState:
        """A `.sync` SageMaker job state (the L2 task has no spot, checkpoint or tuning support)."""
        state = sfn.CustomState(
            self,
            name,
            state_json={
                "Type": "Task",
                "Resource": f"arn:{self._stack.partition}:states:::sagemaker:{action}.sync",
                "Arguments": arguments,
                "Assign": assign,
                "Output": jsonata("$states.input"),
            },
        )
        state.add_retry(
            errors=QUOTA_ERRORS,
            interval=cdk.Duration.minutes(1),
            backoff_rate=2,
            max_attempts=6,
            max_delay=cdk.Duration.minutes(15),
            jitter_strategy=sfn.JitterType.FULL,
        )
        state.add_retry(
            errors=THROTTLING_ERRORS, interval=cdk.Duration.seconds(10), backoff_rate=2, max_attempts=5
        )
        return state

    def _grant_job_states(self) -> None:
        """What Step Functions needs to run the two `.sync` job states (custom states get no IAM).

        As the Step Functions guide's "IAM policies for Amazon SageMaker" lists it per integration, plus
        sagemaker:AddTags: Step Functions tags the jobs it starts (aws-cdk#32294). Passing the SageMaker
        role to the jobs is granted where the two meet, by the role (`grant_pass_to_sagemaker`).
        """
        role = self.state_machine
        for resource_type, api_name, rule, extra_actions in (
            ("training-job", "TrainingJob", "StepFunctionsGetEventsForSageMakerTrainingJobsRule", ()),
            (
                "hyper-parameter-tuning-job",
                "HyperParameterTuningJob",
                "StepFunctionsGetEventsForSageMakerTuningJobsRule",
                # Documented for the tuning `.sync` integration only.
                ("sagemaker:ListTrainingJobsForHyperParameterTuningJob",),
            ),
        ):
            role.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[
                        f"sagemaker:Create{api_name}",
                        f"sagemaker:Describe{api_name}",
                        f"sagemaker:Stop{api_name}",
                        "sagemaker:AddTags",
                        *extra_actions,
                    ],
                    resources=[self._arn(resource_type, "*")],
                )
            )
            # `.sync` waits on SageMaker's job events through a rule Step Functions manages.
            role.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[self._stack.format_arn(service="events", resource="rule", resource_name=rule)],
                )
            )
        # Documented on any resource for both job integrations.
        role.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:ListTags"], resources=["*"]))
        state_machine_role = self.state_machine.role
        for resource_type, name, reason in (
            ("training-job", "*", "Training job names come from each execution's name at run time."),
            (
                "hyper-parameter-tuning-job",
                "*",
                "Tuning job names come from each execution's name at run time.",
            ),
            (
                "model-package",
                f"{self.model_package_group_name}/*",
                "SageMaker numbers model package versions when they are published; limited to this "
                "stage's group.",
            ),
        ):
            nag.acknowledge_wildcard_resource(state_machine_role, self._arn(resource_type, name), reason)
        nag.acknowledge(
            state_machine_role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray trace segments and CloudWatch Logs log delivery, which CDK grants for tracing and "
            "execution logging, support no resource-level permissions; sagemaker:ListTags (read-only) is "
            "documented on any resource for the .sync SageMaker job integrations.",
        )

    def _notify_when_finished(self, topic: sns.ITopic) -> None:
        """Publish every run's end (success with the model package, or the error) to the topic."""
        detail = events.EventField.from_path
        rule = events.Rule(
            self,
            "RunFinished",
            description="Training pipeline run finished",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                    "status": FINISHED_STATUSES,
                },
            ),
            targets=[
                targets.SnsTopic(
                    # By ARN: given the topic, CDK would grant EventBridge the key and topic without a
                    # source-account condition; NotificationTopic's policies allow this account's rules.
                    sns.Topic.from_topic_arn(self, "RunFinishedTopic", topic.topic_arn),
                    message=events.RuleTargetInput.from_text(
                        f"Binventory training run {detail('$.detail.name')} finished: "
                        f"{detail('$.detail.status')}. Output: {detail('$.detail.output')}. "
                        f"Error: {detail('$.detail.error')} {detail('$.detail.cause')}"
                    ),
                )
            ],
        )

        cdk.Annotations.of(rule).acknowledge_warning(
            "@aws-cdk/aws-events:ruleUnresolvedEnvironment",
            "The target is this stack's own topic, referenced by ARN to keep CDK's unconditional grants off.",
        )

    def _arn(self, resource: str, name: str) -> str:
        return self._stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
