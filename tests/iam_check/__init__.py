"""IAM that is enough: every AWS call a principal makes, checked against the policies the stacks synthesize.

moto and our stand-ins answer every call whatever the caller may do, so a missing permission would
first show on AWS. This library closes that gap in the tests:

- `recording` records the botocore calls a piece of code makes (service, operation, parameters, and
  whether AWS answered "no such key");
- `requests` turns each call into the IAM requests AWS authorizes for it (action, resource ARN,
  condition keys), and fails loudly on an operation it has no rule for, so the mapping stays complete;
- `templates` resolves a role's policy statements from the synthesized templates, with the concrete
  names a test used in place of CloudFormation's;
- `evaluation` decides Allow / explicit Deny / implicit deny as IAM does (wildcards, NotAction,
  NotResource, the condition operators the project uses);
- `check` puts them together and names the call, the action, the resource and the role of every denial;
- `sagemaker_jobs` writes down what SageMaker does with its role for a training, tuning, serving or
  transform request (no botocore call of ours to record there), and `operator` fills the documented
  operator policy (docs/operator-policy.json) in for the CLI's tests;
- `synth` synthesizes the app once per test process for all of them.
"""
