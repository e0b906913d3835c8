"""The contracts between Binventory's parts: one module per contract, standard library only.

Every party to a contract imports it from here: the CDK stacks, the counting Lambda, the model code,
the operator CLI and the local pipeline. Every runtime ships this package beside its own code (the
Lambda asset, the SageMaker training source, the model's `code/` folder), so a contract cannot differ
between the place that writes a value and the place that reads it. docs/ARCHITECTURE.md lists where each
contract lives and the test that proves its parties agree.
"""
